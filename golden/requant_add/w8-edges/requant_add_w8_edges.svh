// refmodel 0.1.0: vectors for requant_add, set requant_add_w8-edges. Generated; do not edit.
`ifndef RM_REQUANT_ADD_W8_EDGES_SVH
`define RM_REQUANT_ADD_W8_EDGES_SVH
`define RM_OP "requant_add"
`define RM_OP_REQUANT_ADD 1
`define RM_ROWS 3
`define RM_COLS 6
`define RM_N_VECTORS 18
`define RM_OUT_BITS 8
`define RM_OUT_SIGNED 1
`define RM_INPUT_A_FILE "input_a.hex"
`define RM_INPUT_A_BITS 32
`define RM_INPUT_A_SIGNED 1
`define RM_INPUT_A_COUNT 18
`define RM_INPUT_A_DIMS 2
`define RM_INPUT_A_DIM0 3
`define RM_INPUT_A_DIM1 6
`define RM_INPUT_B_FILE "input_b.hex"
`define RM_INPUT_B_BITS 32
`define RM_INPUT_B_SIGNED 1
`define RM_INPUT_B_COUNT 18
`define RM_INPUT_B_DIMS 2
`define RM_INPUT_B_DIM0 3
`define RM_INPUT_B_DIM1 6
`define RM_OUTPUT_FILE "output.hex"
`define RM_OUTPUT_BITS 8
`define RM_OUTPUT_SIGNED 1
`define RM_OUTPUT_COUNT 18
`define RM_OUTPUT_DIMS 2
`define RM_OUTPUT_DIM0 3
`define RM_OUTPUT_DIM1 6
`define RM_CFG_A_BITS 32
`define RM_CFG_B_BITS 32
`define RM_CFG_BRANCH_BITS 32
`define RM_CFG_C_A 28
`define RM_CFG_C_B 30
`define RM_CFG_M_A 1073741824
`define RM_CFG_M_B 1073741824
`define RM_CFG_OUT_BITS 8
`define RM_CFG_SIGNED 1
`endif
