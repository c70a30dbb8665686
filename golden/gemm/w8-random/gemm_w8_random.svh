// refmodel 0.1.0: vectors for gemm, set gemm_w8-random. Generated; do not edit.
`ifndef RM_GEMM_W8_RANDOM_SVH
`define RM_GEMM_W8_RANDOM_SVH
`define RM_OP "gemm"
`define RM_OP_GEMM 1
`define RM_ROWS 6
`define RM_COLS 6
`define RM_N_VECTORS 36
`define RM_OUT_BITS 32
`define RM_OUT_SIGNED 1
`define RM_INPUT_FILE "input.hex"
`define RM_INPUT_BITS 8
`define RM_INPUT_SIGNED 1
`define RM_INPUT_COUNT 96
`define RM_INPUT_DIMS 3
`define RM_INPUT_DIM0 2
`define RM_INPUT_DIM1 3
`define RM_INPUT_DIM2 16
`define RM_OUTPUT_FILE "output.hex"
`define RM_OUTPUT_BITS 32
`define RM_OUTPUT_SIGNED 1
`define RM_OUTPUT_COUNT 36
`define RM_OUTPUT_DIMS 3
`define RM_OUTPUT_DIM0 2
`define RM_OUTPUT_DIM1 3
`define RM_OUTPUT_DIM2 6
`define RM_CFG_ACC_BITS 32
`define RM_CFG_BIAS_FILE "cfg_bias.hex"
`define RM_CFG_BIAS_BITS 21
`define RM_CFG_BIAS_COUNT 6
`define RM_CFG_IN_BITS 8
`define RM_CFG_W_BITS 8
`define RM_CFG_WEIGHT_FILE "cfg_weight.hex"
`define RM_CFG_WEIGHT_BITS 8
`define RM_CFG_WEIGHT_COUNT 96
`endif
