// refmodel 0.1.0: vectors for requant_wide, set requant_wide_w32-wide_out. Generated; do not edit.
`ifndef RM_REQUANT_WIDE_W32_WIDE_OUT_SVH
`define RM_REQUANT_WIDE_W32_WIDE_OUT_SVH
`define RM_OP "requant_wide"
`define RM_OP_REQUANT_WIDE 1
`define RM_ROWS 5
`define RM_COLS 3
`define RM_N_VECTORS 15
`define RM_IN_BITS 63
`define RM_IN_SIGNED 1
`define RM_OUT_BITS 32
`define RM_OUT_SIGNED 0
`define RM_INPUT_FILE "input.hex"
`define RM_OUTPUT_FILE "output.hex"
`define RM_CFG_C_FILE "cfg_c.hex"
`define RM_CFG_C_BITS 7
`define RM_CFG_C_COUNT 3
`define RM_CFG_IN_BITS 63
`define RM_CFG_M_FILE "cfg_m.hex"
`define RM_CFG_M_BITS 32
`define RM_CFG_M_COUNT 3
`define RM_CFG_OUT_BITS 32
`define RM_CFG_SIGNED 0
`endif
