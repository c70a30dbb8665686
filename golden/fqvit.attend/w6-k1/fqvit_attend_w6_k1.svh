// refmodel 0.1.0: vectors for fqvit.attend, set fqvit.attend_w6-k1. Generated; do not edit.
`ifndef RM_FQVIT_ATTEND_W6_K1_SVH
`define RM_FQVIT_ATTEND_W6_K1_SVH
`define RM_OP "fqvit.attend"
`define RM_OP_FQVIT_ATTEND 1
`define RM_ROWS 4
`define RM_COLS 5
`define RM_N_VECTORS 20
`define RM_OUT_BITS 32
`define RM_OUT_SIGNED 1
`define RM_INPUT_CODES_FILE "input_codes.hex"
`define RM_INPUT_CODES_BITS 6
`define RM_INPUT_CODES_SIGNED 0
`define RM_INPUT_CODES_COUNT 4
`define RM_INPUT_CODES_DIMS 2
`define RM_INPUT_CODES_DIM0 4
`define RM_INPUT_CODES_DIM1 1
`define RM_INPUT_V_FILE "input_v.hex"
`define RM_INPUT_V_BITS 8
`define RM_INPUT_V_SIGNED 1
`define RM_INPUT_V_COUNT 5
`define RM_INPUT_V_DIMS 2
`define RM_INPUT_V_DIM0 1
`define RM_INPUT_V_DIM1 5
`define RM_OUTPUT_FILE "output.hex"
`define RM_OUTPUT_BITS 32
`define RM_OUTPUT_SIGNED 1
`define RM_OUTPUT_COUNT 20
`define RM_OUTPUT_DIMS 2
`define RM_OUTPUT_DIM0 4
`define RM_OUTPUT_DIM1 5
`define RM_CFG_ACC_BITS 32
`define RM_CFG_CODE_BITS 6
`define RM_CFG_DEPTH 1
`define RM_CFG_FRAC_BITS 16
`define RM_CFG_V_BITS 8
`define RM_CFG_ZERO_CODE 63
`endif
