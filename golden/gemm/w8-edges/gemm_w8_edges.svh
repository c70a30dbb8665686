// refmodel 0.1.0: vectors for gemm, set gemm_w8-edges. Generated; do not edit.
`ifndef RM_GEMM_W8_EDGES_SVH
`define RM_GEMM_W8_EDGES_SVH
`define RM_OP "gemm"
`define RM_OP_GEMM 1
`define RM_ROWS 5
`define RM_COLS 4
`define RM_N_VECTORS 20
`define RM_OUT_BITS 32
`define RM_OUT_SIGNED 1
`define RM_INPUT_FILE "input.hex"
`define RM_INPUT_BITS 8
`define RM_INPUT_SIGNED 1
`define RM_INPUT_COUNT 40
`define RM_INPUT_DIMS 2
`define RM_INPUT_DIM0 5
`define RM_INPUT_DIM1 8
`define RM_OUTPUT_FILE "output.hex"
`define RM_OUTPUT_BITS 32
`define RM_OUTPUT_SIGNED 1
`define RM_OUTPUT_COUNT 20
`define RM_OUTPUT_DIMS 2
`define RM_OUTPUT_DIM0 5
`define RM_OUTPUT_DIM1 4
`define RM_CFG_ACC_BITS 32
`define RM_CFG_BIAS_FILE "cfg_bias.hex"
`define RM_CFG_BIAS_BITS 32
`define RM_CFG_BIAS_COUNT 4
`define RM_CFG_IN_BITS 8
`define RM_CFG_W_BITS 8
`define RM_CFG_WEIGHT_FILE "cfg_weight.hex"
`define RM_CFG_WEIGHT_BITS 8
`define RM_CFG_WEIGHT_COUNT 32
`endif
