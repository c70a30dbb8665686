// refmodel 0.1.0: vectors for fqvit.attend, set fqvit.attend_w6-random. Generated; do not edit.
`ifndef RM_FQVIT_ATTEND_W6_RANDOM_SVH
`define RM_FQVIT_ATTEND_W6_RANDOM_SVH
`define RM_OP "fqvit.attend"
`define RM_OP_FQVIT_ATTEND 1
`define RM_ROWS 6
`define RM_COLS 4
`define RM_N_VECTORS 24
`define RM_OUT_BITS 32
`define RM_OUT_SIGNED 1
`define RM_INPUT_CODES_FILE "input_codes.hex"
`define RM_INPUT_CODES_BITS 6
`define RM_INPUT_CODES_SIGNED 0
`define RM_INPUT_CODES_COUNT 42
`define RM_INPUT_CODES_DIMS 3
`define RM_INPUT_CODES_DIM0 2
`define RM_INPUT_CODES_DIM1 3
`define RM_INPUT_CODES_DIM2 7
`define RM_INPUT_V_FILE "input_v.hex"
`define RM_INPUT_V_BITS 8
`define RM_INPUT_V_SIGNED 1
`define RM_INPUT_V_COUNT 56
`define RM_INPUT_V_DIMS 3
`define RM_INPUT_V_DIM0 2
`define RM_INPUT_V_DIM1 7
`define RM_INPUT_V_DIM2 4
`define RM_OUTPUT_FILE "output.hex"
`define RM_OUTPUT_BITS 32
`define RM_OUTPUT_SIGNED 1
`define RM_OUTPUT_COUNT 24
`define RM_OUTPUT_DIMS 3
`define RM_OUTPUT_DIM0 2
`define RM_OUTPUT_DIM1 3
`define RM_OUTPUT_DIM2 4
`define RM_CFG_ACC_BITS 32
`define RM_CFG_CODE_BITS 6
`define RM_CFG_DEPTH 7
`define RM_CFG_FRAC_BITS 16
`define RM_CFG_V_BITS 8
`define RM_CFG_ZERO_CODE 63
`endif
