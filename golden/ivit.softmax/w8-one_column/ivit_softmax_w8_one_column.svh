// refmodel 0.1.0: vectors for ivit.softmax, set ivit.softmax_w8-one_column. Generated; do not edit.
`ifndef RM_IVIT_SOFTMAX_W8_ONE_COLUMN_SVH
`define RM_IVIT_SOFTMAX_W8_ONE_COLUMN_SVH
`define RM_OP "ivit.softmax"
`define RM_OP_IVIT_SOFTMAX 1
`define RM_ROWS 5
`define RM_COLS 1
`define RM_N_VECTORS 5
`define RM_IN_BITS 8
`define RM_IN_SIGNED 1
`define RM_OUT_BITS 16
`define RM_OUT_SIGNED 0
`define RM_INPUT_FILE "input.hex"
`define RM_OUTPUT_FILE "output.hex"
`define RM_CFG_IN_BITS 8
`define RM_CFG_N 15
`define RM_CFG_OUT_BITS 16
`define RM_CFG_SHIFT 16
`define RM_CFG_SUM_MAX 2147483647
`define RM_CFG_X0 -13
`endif
