// refmodel 0.1.0: vectors for gemm, set gemm_w32-extreme. Generated; do not edit.
`ifndef RM_GEMM_W32_EXTREME_SVH
`define RM_GEMM_W32_EXTREME_SVH
`define RM_OP "gemm"
`define RM_OP_GEMM 1
`define RM_ROWS 8
`define RM_COLS 2
`define RM_N_VECTORS 16
`define RM_IN_BITS 32
`define RM_IN_SIGNED 1
`define RM_OUT_BITS 63
`define RM_OUT_SIGNED 1
`define RM_INPUT_FILE "input.hex"
`define RM_OUTPUT_FILE "output.hex"
`define RM_CFG_ACC_BITS 63
`define RM_CFG_BIAS_FILE "cfg_bias.hex"
`define RM_CFG_BIAS_BITS 32
`define RM_CFG_BIAS_COUNT 2
`define RM_CFG_IN_BITS 32
`define RM_CFG_W_BITS 30
`define RM_CFG_WEIGHT_FILE "cfg_weight.hex"
`define RM_CFG_WEIGHT_BITS 30
`define RM_CFG_WEIGHT_COUNT 4
`endif
