// refmodel 0.1.0: vectors for requant_wide, set requant_wide_w16-random. Generated; do not edit.
`ifndef RM_REQUANT_WIDE_W16_RANDOM_SVH
`define RM_REQUANT_WIDE_W16_RANDOM_SVH
`define RM_OP "requant_wide"
`define RM_OP_REQUANT_WIDE 1
`define RM_ROWS 4
`define RM_COLS 8
`define RM_N_VECTORS 32
`define RM_IN_BITS 33
`define RM_IN_SIGNED 1
`define RM_OUT_BITS 16
`define RM_OUT_SIGNED 1
`define RM_INPUT_FILE "input.hex"
`define RM_OUTPUT_FILE "output.hex"
`define RM_CFG_C 39
`define RM_CFG_IN_BITS 33
`define RM_CFG_M 1649267442
`define RM_CFG_OUT_BITS 16
`define RM_CFG_SIGNED 1
`endif
