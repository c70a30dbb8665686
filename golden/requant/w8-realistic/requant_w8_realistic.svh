// refmodel 0.1.0: vectors for requant, set requant_w8-realistic. Generated; do not edit.
`ifndef RM_REQUANT_W8_REALISTIC_SVH
`define RM_REQUANT_W8_REALISTIC_SVH
`define RM_OP "requant"
`define RM_OP_REQUANT 1
`define RM_ROWS 8
`define RM_COLS 64
`define RM_N_VECTORS 512
`define RM_IN_BITS 32
`define RM_IN_SIGNED 1
`define RM_OUT_BITS 8
`define RM_OUT_SIGNED 1
`define RM_INPUT_FILE "input.hex"
`define RM_OUTPUT_FILE "output.hex"
`define RM_CFG_C_FILE "cfg_c.hex"
`define RM_CFG_C_BITS 7
`define RM_CFG_C_COUNT 64
`define RM_CFG_IN_BITS 32
`define RM_CFG_M_FILE "cfg_m.hex"
`define RM_CFG_M_BITS 32
`define RM_CFG_M_COUNT 64
`define RM_CFG_OUT_BITS 8
`define RM_CFG_SIGNED 1
`define RM_CFG_ZERO_POINT 0
`endif
