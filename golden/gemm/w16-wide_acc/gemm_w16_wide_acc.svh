// refmodel 0.1.0: vectors for gemm, set gemm_w16-wide_acc. Generated; do not edit.
`ifndef RM_GEMM_W16_WIDE_ACC_SVH
`define RM_GEMM_W16_WIDE_ACC_SVH
`define RM_OP "gemm"
`define RM_OP_GEMM 1
`define RM_ROWS 8
`define RM_COLS 3
`define RM_N_VECTORS 24
`define RM_OUT_BITS 40
`define RM_OUT_SIGNED 1
`define RM_INPUT_FILE "input.hex"
`define RM_INPUT_BITS 16
`define RM_INPUT_SIGNED 1
`define RM_INPUT_COUNT 64
`define RM_INPUT_DIMS 2
`define RM_INPUT_DIM0 8
`define RM_INPUT_DIM1 8
`define RM_OUTPUT_FILE "output.hex"
`define RM_OUTPUT_BITS 40
`define RM_OUTPUT_SIGNED 1
`define RM_OUTPUT_COUNT 24
`define RM_OUTPUT_DIMS 2
`define RM_OUTPUT_DIM0 8
`define RM_OUTPUT_DIM1 3
`define RM_CFG_ACC_BITS 40
`define RM_CFG_BIAS_FILE "cfg_bias.hex"
`define RM_CFG_BIAS_BITS 32
`define RM_CFG_BIAS_COUNT 3
`define RM_CFG_IN_BITS 16
`define RM_CFG_W_BITS 16
`define RM_CFG_WEIGHT_FILE "cfg_weight.hex"
`define RM_CFG_WEIGHT_BITS 16
`define RM_CFG_WEIGHT_COUNT 24
`endif
