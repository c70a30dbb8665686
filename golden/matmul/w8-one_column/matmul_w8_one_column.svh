// refmodel 0.1.0: vectors for matmul, set matmul_w8-one_column. Generated; do not edit.
`ifndef RM_MATMUL_W8_ONE_COLUMN_SVH
`define RM_MATMUL_W8_ONE_COLUMN_SVH
`define RM_OP "matmul"
`define RM_OP_MATMUL 1
`define RM_ROWS 4
`define RM_COLS 1
`define RM_N_VECTORS 4
`define RM_OUT_BITS 32
`define RM_OUT_SIGNED 1
`define RM_INPUT_A_FILE "input_a.hex"
`define RM_INPUT_A_BITS 8
`define RM_INPUT_A_SIGNED 1
`define RM_INPUT_A_COUNT 4
`define RM_INPUT_A_DIMS 2
`define RM_INPUT_A_DIM0 4
`define RM_INPUT_A_DIM1 1
`define RM_INPUT_B_FILE "input_b.hex"
`define RM_INPUT_B_BITS 8
`define RM_INPUT_B_SIGNED 1
`define RM_INPUT_B_COUNT 1
`define RM_INPUT_B_DIMS 2
`define RM_INPUT_B_DIM0 1
`define RM_INPUT_B_DIM1 1
`define RM_OUTPUT_FILE "output.hex"
`define RM_OUTPUT_BITS 32
`define RM_OUTPUT_SIGNED 1
`define RM_OUTPUT_COUNT 4
`define RM_OUTPUT_DIMS 2
`define RM_OUTPUT_DIM0 4
`define RM_OUTPUT_DIM1 1
`define RM_CFG_A_BITS 8
`define RM_CFG_A_SIGNED 1
`define RM_CFG_ACC_BITS 32
`define RM_CFG_B_BITS 8
`define RM_CFG_B_SIGNED 1
`define RM_CFG_DEPTH 1
`endif
