// refmodel 0.1.0: vectors for fqvit.attend, set fqvit.attend_w2-narrow. Generated; do not edit.
`ifndef RM_FQVIT_ATTEND_W2_NARROW_SVH
`define RM_FQVIT_ATTEND_W2_NARROW_SVH
`define RM_OP "fqvit.attend"
`define RM_OP_FQVIT_ATTEND 1
`define RM_ROWS 64
`define RM_COLS 5
`define RM_N_VECTORS 320
`define RM_OUT_BITS 4
`define RM_OUT_SIGNED 1
`define RM_INPUT_CODES_FILE "input_codes.hex"
`define RM_INPUT_CODES_BITS 2
`define RM_INPUT_CODES_SIGNED 0
`define RM_INPUT_CODES_COUNT 192
`define RM_INPUT_CODES_DIMS 2
`define RM_INPUT_CODES_DIM0 64
`define RM_INPUT_CODES_DIM1 3
`define RM_INPUT_V_FILE "input_v.hex"
`define RM_INPUT_V_BITS 2
`define RM_INPUT_V_SIGNED 1
`define RM_INPUT_V_COUNT 15
`define RM_INPUT_V_DIMS 2
`define RM_INPUT_V_DIM0 3
`define RM_INPUT_V_DIM1 5
`define RM_OUTPUT_FILE "output.hex"
`define RM_OUTPUT_BITS 4
`define RM_OUTPUT_SIGNED 1
`define RM_OUTPUT_COUNT 320
`define RM_OUTPUT_DIMS 2
`define RM_OUTPUT_DIM0 64
`define RM_OUTPUT_DIM1 5
`define RM_CFG_ACC_BITS 4
`define RM_CFG_CODE_BITS 2
`define RM_CFG_DEPTH 3
`define RM_CFG_FRAC_BITS 0
`define RM_CFG_V_BITS 2
`define RM_CFG_ZERO_CODE 3
`endif
