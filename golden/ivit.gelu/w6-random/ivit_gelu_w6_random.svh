// refmodel 0.1.0: vectors for ivit.gelu, set ivit.gelu_w6-random. Generated; do not edit.
`ifndef RM_IVIT_GELU_W6_RANDOM_SVH
`define RM_IVIT_GELU_W6_RANDOM_SVH
`define RM_OP "ivit.gelu"
`define RM_OP_IVIT_GELU 1
`define RM_ROWS 6
`define RM_COLS 96
`define RM_N_VECTORS 576
`define RM_IN_BITS 6
`define RM_IN_SIGNED 1
`define RM_OUT_BITS 13
`define RM_OUT_SIGNED 1
`define RM_INPUT_FILE "input.hex"
`define RM_OUTPUT_FILE "output.hex"
`define RM_CFG_IN_BITS 6
`define RM_CFG_N 23
`define RM_CFG_SHIFT 24
`define RM_CFG_SIG_BITS 8
`define RM_CFG_SUM_MAX 2147483647
`define RM_CFG_X0 -3
`endif
