// refmodel 0.1.0: vectors for ibert.softmax, set ibert.softmax_w6-one_column. Generated; do not edit.
`ifndef RM_IBERT_SOFTMAX_W6_ONE_COLUMN_SVH
`define RM_IBERT_SOFTMAX_W6_ONE_COLUMN_SVH
`define RM_OP "ibert.softmax"
`define RM_OP_IBERT_SOFTMAX 1
`define RM_ROWS 5
`define RM_COLS 1
`define RM_N_VECTORS 5
`define RM_IN_BITS 6
`define RM_IN_SIGNED 1
`define RM_OUT_BITS 16
`define RM_OUT_SIGNED 0
`define RM_INPUT_FILE "input.hex"
`define RM_OUTPUT_FILE "output.hex"
`define RM_CFG_BQ 8
`define RM_CFG_C 50
`define RM_CFG_CQ 27
`define RM_CFG_IN_BITS 6
`define RM_CFG_M 1272544066
`define RM_CFG_N 30
`define RM_CFG_OUT_BITS 16
`define RM_CFG_OUT_SHIFT 16
`define RM_CFG_X0 -3
`endif
