// DUT adapter of rm_tb for `ivit.layernorm` (included inside module rm_tb).
// bias_int and negate are per channel (cfg_bias_int.hex, cfg_negate.hex, one entry per column);
// the DUT names the channel it reads on ch_idx.

    wire out_last;
    wire [((COLS > 1) ? $clog2(COLS) : 1)-1:0] ch_idx;
    integer tb_chan;
    always @* tb_chan = ch_idx;

`ifdef RM_CFG_BIAS_INT_FILE
    reg  [`RM_CFG_BIAS_INT_BITS-1:0] cfg_bi [0:`RM_CFG_BIAS_INT_COUNT-1];
    wire signed [`RM_CFG_BIAS_INT_BITS-1:0] tb_bi = cfg_bi[tb_chan];
`else
    wire signed [63:0] tb_bi = `RM_CFG_BIAS_INT;
`endif
`ifdef RM_CFG_NEGATE_FILE
    reg  [`RM_CFG_NEGATE_BITS-1:0] cfg_negate [0:`RM_CFG_NEGATE_COUNT-1];
    wire signed [`RM_CFG_NEGATE_BITS-1:0] tb_negate = cfg_negate[tb_chan];
`else
    wire signed [63:0] tb_negate = `RM_CFG_NEGATE;
`endif

    wire [OUT_BITS-1:0] dut_bi = tb_bi;                // sign-extended or cut to OUT_BITS
    wire                dut_neg = (tb_negate != 0);

    task rm_load_cfg;
        integer j;
        begin
            if (`RM_CFG_IN_BITS != IN_BITS || `RM_CFG_OUT_BITS != OUT_BITS || `RM_CFG_CHANNELS != COLS) begin
                $display("rm_tb: inconsistent set: in_bits %0d, out_bits %0d, channels %0d", `RM_CFG_IN_BITS, `RM_CFG_OUT_BITS, `RM_CFG_CHANNELS);
                errors = errors + 1;
            end
`ifdef RM_CFG_BIAS_INT_FILE
            if (`RM_CFG_BIAS_INT_COUNT != COLS) begin
                $display("rm_tb: cfg_bias_int has %0d entries, expected one per column (%0d)", `RM_CFG_BIAS_INT_COUNT, COLS);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_BIAS_INT_FILE), cfg_bi);
            for (j = 0; j < `RM_CFG_BIAS_INT_COUNT; j = j + 1)
                if (^cfg_bi[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_BIAS_INT_FILE), j);
                    errors = errors + 1;
                end
`endif
`ifdef RM_CFG_NEGATE_FILE
            if (`RM_CFG_NEGATE_COUNT != COLS) begin
                $display("rm_tb: cfg_negate has %0d entries, expected one per column (%0d)", `RM_CFG_NEGATE_COUNT, COLS);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_NEGATE_FILE), cfg_negate);
            for (j = 0; j < `RM_CFG_NEGATE_COUNT; j = j + 1)
                if (^cfg_negate[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_NEGATE_FILE), j);
                    errors = errors + 1;
                end
`endif
        end
    endtask

    rm_ivit_layernorm #(
        .COLS(COLS),
        .IN_BITS(IN_BITS),
        .OUT_BITS(OUT_BITS),
        .ITERS(`RM_CFG_ITERS),
        .K0(`RM_CFG_K0),
        .NUMERATOR(`RM_CFG_NUMERATOR)
    ) dut (
        .clk(clk),
        .rst(rst),
        .in_valid(in_valid),
        .in_ready(in_ready),
        .in_data(in_data),
        .out_valid(out_valid),
        .out_ready(out_ready),
        .out_data(out_data),
        .out_last(out_last),
        .ch_idx(ch_idx),
        .ch_bi(dut_bi),
        .ch_neg(dut_neg)
    );
