// refmodel 0.1.0: vectors for lut.softmax, set lut.softmax_w8-edges. Generated; do not edit.
`ifndef RM_LUT_SOFTMAX_W8_EDGES_SVH
`define RM_LUT_SOFTMAX_W8_EDGES_SVH
`define RM_OP "lut.softmax"
`define RM_OP_LUT_SOFTMAX 1
`define RM_ROWS 6
`define RM_COLS 32
`define RM_N_VECTORS 192
`define RM_IN_BITS 8
`define RM_IN_SIGNED 1
`define RM_OUT_BITS 16
`define RM_OUT_SIGNED 0
`define RM_INPUT_FILE "input.hex"
`define RM_OUTPUT_FILE "output.hex"
`define RM_CFG_FRAC_BITS 16
`define RM_CFG_IN_BITS 8
`define RM_CFG_OUT_BITS 16
`define RM_CFG_OUT_SHIFT 47
`define RM_CFG_TABLE_FILE "cfg_table.hex"
`define RM_CFG_TABLE_BITS 18
`define RM_CFG_TABLE_COUNT 149
`endif
