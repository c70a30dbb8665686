// DUT adapter of rm_tb for `ibert.layernorm` (included inside module rm_tb).
// bi and gamma_sign are per channel (cfg_bi.hex, cfg_gamma_sign.hex, one entry per column);
// the DUT names the channel it reads on ch_idx.

    wire out_last;
    wire [((COLS > 1) ? $clog2(COLS) : 1)-1:0] ch_idx;
    integer tb_chan;
    always @* tb_chan = ch_idx;

`ifdef RM_CFG_BI_FILE
    reg  [`RM_CFG_BI_BITS-1:0] cfg_bi [0:`RM_CFG_BI_COUNT-1];
    wire signed [`RM_CFG_BI_BITS-1:0] tb_bi = cfg_bi[tb_chan];
`else
    wire signed [63:0] tb_bi = `RM_CFG_BI;
`endif
`ifdef RM_CFG_GAMMA_SIGN_FILE
    reg  [`RM_CFG_GAMMA_SIGN_BITS-1:0] cfg_gamma_sign [0:`RM_CFG_GAMMA_SIGN_COUNT-1];
    wire signed [`RM_CFG_GAMMA_SIGN_BITS-1:0] tb_gamma_sign = cfg_gamma_sign[tb_chan];
`else
    wire signed [63:0] tb_gamma_sign = `RM_CFG_GAMMA_SIGN;
`endif

    wire [OUT_BITS-1:0] dut_bi = tb_bi;                // sign-extended or cut to OUT_BITS
    wire                dut_neg = (tb_gamma_sign < 0);

    task rm_load_cfg;
        integer j;
        begin
            if (`RM_CFG_IN_BITS != IN_BITS || `RM_CFG_OUT_BITS != OUT_BITS || `RM_CFG_CHANNELS != COLS) begin
                $display("rm_tb: inconsistent set: in_bits %0d, out_bits %0d, channels %0d", `RM_CFG_IN_BITS, `RM_CFG_OUT_BITS, `RM_CFG_CHANNELS);
                errors = errors + 1;
            end
`ifdef RM_CFG_BI_FILE
            if (`RM_CFG_BI_COUNT != COLS) begin
                $display("rm_tb: cfg_bi has %0d entries, expected one per column (%0d)", `RM_CFG_BI_COUNT, COLS);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_BI_FILE), cfg_bi);
            for (j = 0; j < `RM_CFG_BI_COUNT; j = j + 1)
                if (^cfg_bi[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_BI_FILE), j);
                    errors = errors + 1;
                end
`endif
`ifdef RM_CFG_GAMMA_SIGN_FILE
            if (`RM_CFG_GAMMA_SIGN_COUNT != COLS) begin
                $display("rm_tb: cfg_gamma_sign has %0d entries, expected one per column (%0d)", `RM_CFG_GAMMA_SIGN_COUNT, COLS);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_GAMMA_SIGN_FILE), cfg_gamma_sign);
            for (j = 0; j < `RM_CFG_GAMMA_SIGN_COUNT; j = j + 1)
                if (^cfg_gamma_sign[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_GAMMA_SIGN_FILE), j);
                    errors = errors + 1;
                end
`endif
        end
    endtask

    rm_ibert_layernorm #(
        .COLS(COLS),
        .IN_BITS(IN_BITS),
        .OUT_BITS(OUT_BITS),
        .SHIFT(`RM_CFG_SHIFT)
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
