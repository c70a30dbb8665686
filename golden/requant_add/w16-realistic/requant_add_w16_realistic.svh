// refmodel 0.1.0: vectors for requant_add, set requant_add_w16-realistic. Generated; do not edit.
`ifndef RM_REQUANT_ADD_W16_REALISTIC_SVH
`define RM_REQUANT_ADD_W16_REALISTIC_SVH
`define RM_OP "requant_add"
`define RM_OP_REQUANT_ADD 1
`define RM_ROWS 4
`define RM_COLS 12
`define RM_N_VECTORS 48
`define RM_OUT_BITS 16
`define RM_OUT_SIGNED 1
`define RM_INPUT_A_FILE "input_a.hex"
`define RM_INPUT_A_BITS 32
`define RM_INPUT_A_SIGNED 1
`define RM_INPUT_A_COUNT 48
`define RM_INPUT_A_DIMS 2
`define RM_INPUT_A_DIM0 4
`define RM_INPUT_A_DIM1 12
`define RM_INPUT_B_FILE "input_b.hex"
`define RM_INPUT_B_BITS 16
`define RM_INPUT_B_SIGNED 1
`define RM_INPUT_B_COUNT 48
`define RM_INPUT_B_DIMS 2
`define RM_INPUT_B_DIM0 4
`define RM_INPUT_B_DIM1 12
`define RM_OUTPUT_FILE "output.hex"
`define RM_OUTPUT_BITS 16
`define RM_OUTPUT_SIGNED 1
`define RM_OUTPUT_COUNT 48
`define RM_OUTPUT_DIMS 2
`define RM_OUTPUT_DIM0 4
`define RM_OUTPUT_DIM1 12
`define RM_CFG_A_BITS 32
`define RM_CFG_B_BITS 16
`define RM_CFG_BRANCH_BITS 32
`define RM_CFG_C_A_FILE "cfg_c_a.hex"
`define RM_CFG_C_A_BITS 7
`define RM_CFG_C_A_COUNT 12
`define RM_CFG_C_B 31
`define RM_CFG_M_A_FILE "cfg_m_a.hex"
`define RM_CFG_M_A_BITS 32
`define RM_CFG_M_A_COUNT 12
`define RM_CFG_M_B 1717986918
`define RM_CFG_OUT_BITS 16
`define RM_CFG_SIGNED 1
`endif
