// refmodel 0.1.0: vectors for lut.gelu, set lut.gelu_w6-edges. Generated; do not edit.
`ifndef RM_LUT_GELU_W6_EDGES_SVH
`define RM_LUT_GELU_W6_EDGES_SVH
`define RM_OP "lut.gelu"
`define RM_OP_LUT_GELU 1
`define RM_ROWS 6
`define RM_COLS 96
`define RM_N_VECTORS 576
`define RM_IN_BITS 6
`define RM_IN_SIGNED 1
`define RM_OUT_BITS 6
`define RM_OUT_SIGNED 1
`define RM_INPUT_FILE "input.hex"
`define RM_OUTPUT_FILE "output.hex"
`define RM_CFG_IN_BITS 6
`define RM_CFG_OFFSET 32
`define RM_CFG_OUT_BITS 6
`define RM_CFG_TABLE_FILE "cfg_table.hex"
`define RM_CFG_TABLE_BITS 6
`define RM_CFG_TABLE_COUNT 64
`endif
