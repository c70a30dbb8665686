// refmodel 0.1.0: vectors for fqvit.softmax, set fqvit.softmax_w8-random. Generated; do not edit.
`ifndef RM_FQVIT_SOFTMAX_W8_RANDOM_SVH
`define RM_FQVIT_SOFTMAX_W8_RANDOM_SVH
`define RM_OP "fqvit.softmax"
`define RM_OP_FQVIT_SOFTMAX 1
`define RM_ROWS 6
`define RM_COLS 32
`define RM_N_VECTORS 192
`define RM_IN_BITS 8
`define RM_IN_SIGNED 1
`define RM_OUT_BITS 6
`define RM_OUT_SIGNED 0
`define RM_INPUT_FILE "input.hex"
`define RM_OUTPUT_FILE "output.hex"
`define RM_CFG_BQ 33
`define RM_CFG_CQ 436
`define RM_CFG_IN_BITS 8
`define RM_CFG_N 30
`define RM_CFG_OUT_BITS 6
`define RM_CFG_X0 -9
`define RM_CFG_ZERO_CODE 63
`endif
