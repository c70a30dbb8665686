// refmodel 0.1.0: vectors for ibert.gelu, set ibert.gelu_w32-realistic. Generated; do not edit.
`ifndef RM_IBERT_GELU_W32_REALISTIC_SVH
`define RM_IBERT_GELU_W32_REALISTIC_SVH
`define RM_OP "ibert.gelu"
`define RM_OP_IBERT_GELU 1
`define RM_ROWS 8
`define RM_COLS 96
`define RM_N_VECTORS 768
`define RM_IN_BITS 32
`define RM_IN_SIGNED 1
`define RM_OUT_BITS 52
`define RM_OUT_SIGNED 1
`define RM_INPUT_FILE "input.hex"
`define RM_OUTPUT_FILE "output.hex"
`define RM_CFG_BG_FILE "cfg_bg.hex"
`define RM_CFG_BG_BITS 18
`define RM_CFG_BG_COUNT 96
`define RM_CFG_CG_FILE "cfg_cg.hex"
`define RM_CFG_CG_BITS 34
`define RM_CFG_CG_COUNT 96
`define RM_CFG_IN_BITS 32
`define RM_CFG_N 14
`define RM_CFG_ONE_FILE "cfg_one.hex"
`define RM_CFG_ONE_BITS 20
`define RM_CFG_ONE_COUNT 96
`define RM_CFG_OUT_BITS 52
`endif
