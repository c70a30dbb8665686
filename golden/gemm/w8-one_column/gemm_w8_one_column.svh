// refmodel 0.1.0: vectors for gemm, set gemm_w8-one_column. Generated; do not edit.
`ifndef RM_GEMM_W8_ONE_COLUMN_SVH
`define RM_GEMM_W8_ONE_COLUMN_SVH
`define RM_OP "gemm"
`define RM_OP_GEMM 1
`define RM_ROWS 5
`define RM_COLS 1
`define RM_N_VECTORS 5
`define RM_IN_BITS 8
`define RM_IN_SIGNED 1
`define RM_OUT_BITS 32
`define RM_OUT_SIGNED 1
`define RM_INPUT_FILE "input.hex"
`define RM_OUTPUT_FILE "output.hex"
`define RM_CFG_ACC_BITS 32
`define RM_CFG_BIAS_FILE "cfg_bias.hex"
`define RM_CFG_BIAS_BITS 4
`define RM_CFG_BIAS_COUNT 1
`define RM_CFG_IN_BITS 8
`define RM_CFG_W_BITS 8
`define RM_CFG_WEIGHT_FILE "cfg_weight.hex"
`define RM_CFG_WEIGHT_BITS 8
`define RM_CFG_WEIGHT_COUNT 1
`endif
