// refmodel 0.1.0: vectors for gemm, set gemm_w2-narrow. Generated; do not edit.
`ifndef RM_GEMM_W2_NARROW_SVH
`define RM_GEMM_W2_NARROW_SVH
`define RM_OP "gemm"
`define RM_OP_GEMM 1
`define RM_ROWS 9
`define RM_COLS 3
`define RM_N_VECTORS 27
`define RM_OUT_BITS 6
`define RM_OUT_SIGNED 1
`define RM_INPUT_FILE "input.hex"
`define RM_INPUT_BITS 2
`define RM_INPUT_SIGNED 1
`define RM_INPUT_COUNT 45
`define RM_INPUT_DIMS 2
`define RM_INPUT_DIM0 9
`define RM_INPUT_DIM1 5
`define RM_OUTPUT_FILE "output.hex"
`define RM_OUTPUT_BITS 6
`define RM_OUTPUT_SIGNED 1
`define RM_OUTPUT_COUNT 27
`define RM_OUTPUT_DIMS 2
`define RM_OUTPUT_DIM0 9
`define RM_OUTPUT_DIM1 3
`define RM_CFG_ACC_BITS 6
`define RM_CFG_BIAS_FILE "cfg_bias.hex"
`define RM_CFG_BIAS_BITS 5
`define RM_CFG_BIAS_COUNT 3
`define RM_CFG_IN_BITS 2
`define RM_CFG_W_BITS 2
`define RM_CFG_WEIGHT_FILE "cfg_weight.hex"
`define RM_CFG_WEIGHT_BITS 2
`define RM_CFG_WEIGHT_COUNT 15
`endif
