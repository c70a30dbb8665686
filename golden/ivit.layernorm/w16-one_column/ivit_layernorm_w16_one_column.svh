// refmodel 0.1.0: vectors for ivit.layernorm, set ivit.layernorm_w16-one_column. Generated; do not edit.
`ifndef RM_IVIT_LAYERNORM_W16_ONE_COLUMN_SVH
`define RM_IVIT_LAYERNORM_W16_ONE_COLUMN_SVH
`define RM_OP "ivit.layernorm"
`define RM_OP_IVIT_LAYERNORM 1
`define RM_ROWS 5
`define RM_COLS 1
`define RM_N_VECTORS 5
`define RM_IN_BITS 16
`define RM_IN_SIGNED 1
`define RM_OUT_BITS 32
`define RM_OUT_SIGNED 1
`define RM_INPUT_FILE "input.hex"
`define RM_OUTPUT_FILE "output.hex"
`define RM_CFG_BIAS_INT_FILE "cfg_bias_int.hex"
`define RM_CFG_BIAS_INT_BITS 28
`define RM_CFG_BIAS_INT_COUNT 1
`define RM_CFG_CHANNELS 1
`define RM_CFG_IN_BITS 16
`define RM_CFG_ITERS 10
`define RM_CFG_K0 65536
`define RM_CFG_NEGATE_FILE "cfg_negate.hex"
`define RM_CFG_NEGATE_BITS 2
`define RM_CFG_NEGATE_COUNT 1
`define RM_CFG_NUMERATOR 2147483647
`define RM_CFG_OUT_BITS 32
`endif
