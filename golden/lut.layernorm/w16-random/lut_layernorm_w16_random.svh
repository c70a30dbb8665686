// refmodel 0.1.0: vectors for lut.layernorm, set lut.layernorm_w16-random. Generated; do not edit.
`ifndef RM_LUT_LAYERNORM_W16_RANDOM_SVH
`define RM_LUT_LAYERNORM_W16_RANDOM_SVH
`define RM_OP "lut.layernorm"
`define RM_OP_LUT_LAYERNORM 1
`define RM_ROWS 6
`define RM_COLS 192
`define RM_N_VECTORS 1152
`define RM_IN_BITS 16
`define RM_IN_SIGNED 1
`define RM_OUT_BITS 32
`define RM_OUT_SIGNED 1
`define RM_INPUT_FILE "input.hex"
`define RM_OUTPUT_FILE "output.hex"
`define RM_CFG_BI_FILE "cfg_bi.hex"
`define RM_CFG_BI_BITS 28
`define RM_CFG_BI_COUNT 192
`define RM_CFG_CHANNELS 192
`define RM_CFG_GAMMA_SIGN_FILE "cfg_gamma_sign.hex"
`define RM_CFG_GAMMA_SIGN_BITS 2
`define RM_CFG_GAMMA_SIGN_COUNT 192
`define RM_CFG_IN_BITS 16
`define RM_CFG_INDEX_BITS 8
`define RM_CFG_OUT_BITS 32
`define RM_CFG_SHIFT 0
`define RM_CFG_TABLE_FILE "cfg_table.hex"
`define RM_CFG_TABLE_BITS 31
`define RM_CFG_TABLE_COUNT 256
`endif
