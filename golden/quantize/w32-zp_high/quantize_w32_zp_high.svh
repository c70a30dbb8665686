// refmodel 0.1.0: vectors for quantize, set quantize_w32-zp_high. Generated; do not edit.
`ifndef RM_QUANTIZE_W32_ZP_HIGH_SVH
`define RM_QUANTIZE_W32_ZP_HIGH_SVH
`define RM_OP "quantize"
`define RM_OP_QUANTIZE 1
`define RM_ROWS 1
`define RM_COLS 8
`define RM_N_VECTORS 8
`define RM_OUT_BITS 32
`define RM_OUT_SIGNED 0
`define RM_INPUT_FILE "input.hex"
`define RM_INPUT_BITS 64
`define RM_INPUT_SIGNED 1
`define RM_INPUT_COUNT 8
`define RM_INPUT_DIMS 2
`define RM_INPUT_DIM0 1
`define RM_INPUT_DIM1 8
`define RM_OUTPUT_FILE "output.hex"
`define RM_OUTPUT_BITS 32
`define RM_OUTPUT_SIGNED 0
`define RM_OUTPUT_COUNT 8
`define RM_OUTPUT_DIMS 2
`define RM_OUTPUT_DIM0 1
`define RM_OUTPUT_DIM1 8
`define RM_CFG_BITS 32
`define RM_CFG_SIGNED 0
`define RM_CFG_ZERO_POINT 64'sd4294967296
`endif
