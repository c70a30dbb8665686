// refmodel 0.1.0: vectors for fqvit.layernorm, set fqvit.layernorm_w6-realistic. Generated; do not edit.
`ifndef RM_FQVIT_LAYERNORM_W6_REALISTIC_SVH
`define RM_FQVIT_LAYERNORM_W6_REALISTIC_SVH
`define RM_OP "fqvit.layernorm"
`define RM_OP_FQVIT_LAYERNORM 1
`define RM_ROWS 8
`define RM_COLS 192
`define RM_N_VECTORS 1536
`define RM_IN_BITS 6
`define RM_IN_SIGNED 0
`define RM_OUT_BITS 9
`define RM_OUT_SIGNED 1
`define RM_INPUT_FILE "input.hex"
`define RM_OUTPUT_FILE "output.hex"
`define RM_CFG_B_FRAC 23
`define RM_CFG_BIAS_FILE "cfg_bias.hex"
`define RM_CFG_BIAS_BITS 45
`define RM_CFG_BIAS_COUNT 192
`define RM_CFG_BIAS_FRAC 22
`define RM_CFG_CHANNELS 192
`define RM_CFG_GAIN_C_FILE "cfg_gain_c.hex"
`define RM_CFG_GAIN_C_BITS 6
`define RM_CFG_GAIN_C_COUNT 192
`define RM_CFG_GAIN_M_FILE "cfg_gain_m.hex"
`define RM_CFG_GAIN_M_BITS 32
`define RM_CFG_GAIN_M_COUNT 192
`define RM_CFG_IN_BITS 6
`define RM_CFG_OUT_BITS 9
`define RM_CFG_SHIFT_FILE "cfg_shift.hex"
`define RM_CFG_SHIFT_BITS 3
`define RM_CFG_SHIFT_COUNT 192
`define RM_CFG_SIGN_FILE "cfg_sign.hex"
`define RM_CFG_SIGN_BITS 2
`define RM_CFG_SIGN_COUNT 192
`define RM_CFG_ZERO_POINT 32
`define RM_DP_B_FILE "dp_b.hex"
`define RM_DP_B_BITS 14
`define RM_DP_M_FILE "dp_m.hex"
`define RM_DP_M_BITS 9
`define RM_DP_N_FILE "dp_n.hex"
`define RM_DP_N_BITS 5
`endif
