// refmodel 0.1.0: vectors for quantize, set quantize_w8-ties. Generated; do not edit.
`ifndef RM_QUANTIZE_W8_TIES_SVH
`define RM_QUANTIZE_W8_TIES_SVH
`define RM_OP "quantize"
`define RM_OP_QUANTIZE 1
`define RM_ROWS 4
`define RM_COLS 10
`define RM_N_VECTORS 40
`define RM_OUT_BITS 8
`define RM_OUT_SIGNED 1
`define RM_INPUT_FILE "input.hex"
`define RM_INPUT_BITS 64
`define RM_INPUT_SIGNED 1
`define RM_INPUT_COUNT 40
`define RM_INPUT_DIMS 2
`define RM_INPUT_DIM0 4
`define RM_INPUT_DIM1 10
`define RM_OUTPUT_FILE "output.hex"
`define RM_OUTPUT_BITS 8
`define RM_OUTPUT_SIGNED 1
`define RM_OUTPUT_COUNT 40
`define RM_OUTPUT_DIMS 2
`define RM_OUTPUT_DIM0 4
`define RM_OUTPUT_DIM1 10
`define RM_CFG_BITS 8
`define RM_CFG_SIGNED 1
`define RM_CFG_ZERO_POINT 0
`endif
