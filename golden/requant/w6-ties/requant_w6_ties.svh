// refmodel 0.1.0: vectors for requant, set requant_w6-ties. Generated; do not edit.
`ifndef RM_REQUANT_W6_TIES_SVH
`define RM_REQUANT_W6_TIES_SVH
`define RM_OP "requant"
`define RM_OP_REQUANT 1
`define RM_ROWS 1
`define RM_COLS 80
`define RM_N_VECTORS 80
`define RM_IN_BITS 32
`define RM_IN_SIGNED 1
`define RM_OUT_BITS 6
`define RM_OUT_SIGNED 1
`define RM_INPUT_FILE "input.hex"
`define RM_OUTPUT_FILE "output.hex"
`define RM_CFG_C 31
`define RM_CFG_IN_BITS 32
`define RM_CFG_M 1073741824
`define RM_CFG_OUT_BITS 6
`define RM_CFG_SIGNED 1
`define RM_CFG_ZERO_POINT 0
`endif
