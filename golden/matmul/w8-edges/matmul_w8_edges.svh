// refmodel 0.1.0: vectors for matmul, set matmul_w8-edges. Generated; do not edit.
`ifndef RM_MATMUL_W8_EDGES_SVH
`define RM_MATMUL_W8_EDGES_SVH
`define RM_OP "matmul"
`define RM_OP_MATMUL 1
`define RM_ROWS 5
`define RM_COLS 4
`define RM_N_VECTORS 20
`define RM_OUT_BITS 32
`define RM_OUT_SIGNED 1
`define RM_INPUT_A_FILE "input_a.hex"
`define RM_INPUT_A_BITS 8
`define RM_INPUT_A_SIGNED 1
`define RM_INPUT_A_COUNT 25
`define RM_INPUT_A_DIMS 3
`define RM_INPUT_A_DIM0 1
`define RM_INPUT_A_DIM1 5
`define RM_INPUT_A_DIM2 5
`define RM_INPUT_B_FILE "input_b.hex"
`define RM_INPUT_B_BITS 8
`define RM_INPUT_B_SIGNED 1
`define RM_INPUT_B_COUNT 20
`define RM_INPUT_B_DIMS 3
`define RM_INPUT_B_DIM0 1
`define RM_INPUT_B_DIM1 5
`define RM_INPUT_B_DIM2 4
`define RM_OUTPUT_FILE "output.hex"
`define RM_OUTPUT_BITS 32
`define RM_OUTPUT_SIGNED 1
`define RM_OUTPUT_COUNT 20
`define RM_OUTPUT_DIMS 3
`define RM_OUTPUT_DIM0 1
`define RM_OUTPUT_DIM1 5
`define RM_OUTPUT_DIM2 4
`define RM_CFG_A_BITS 8
`define RM_CFG_A_SIGNED 1
`define RM_CFG_ACC_BITS 32
`define RM_CFG_B_BITS 8
`define RM_CFG_B_SIGNED 1
`define RM_CFG_DEPTH 5
`endif
