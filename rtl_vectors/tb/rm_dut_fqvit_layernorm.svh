// DUT adapter of rm_tb for `fqvit.layernorm` (included inside module rm_tb).
// gain_m, gain_c, sign, bias and the PTF shift are per channel (cfg_<key>.hex, one entry per
// column); the DUT names the channel it reads on ch_idx. When the set carries the per-element
// datapath files (dp_m.hex, dp_n.hex, dp_b.hex), every output's M, N and B are checked too:
// each difference prints `datapath mismatch at index I: ...` and counts as an error.

    wire out_last;
    wire [((COLS > 1) ? $clog2(COLS) : 1)-1:0] ch_idx;
    integer tb_chan;
    always @* tb_chan = ch_idx;

    reg  [`RM_CFG_GAIN_M_BITS-1:0] cfg_gain_m [0:`RM_CFG_GAIN_M_COUNT-1];
    wire signed [`RM_CFG_GAIN_M_BITS-1:0] tb_gain_m = cfg_gain_m[tb_chan];
    reg  [`RM_CFG_GAIN_C_BITS-1:0] cfg_gain_c [0:`RM_CFG_GAIN_C_COUNT-1];
    wire signed [`RM_CFG_GAIN_C_BITS-1:0] tb_gain_c = cfg_gain_c[tb_chan];
    reg  [`RM_CFG_SIGN_BITS-1:0] cfg_sign [0:`RM_CFG_SIGN_COUNT-1];
    wire signed [`RM_CFG_SIGN_BITS-1:0] tb_sign = cfg_sign[tb_chan];
    reg  [`RM_CFG_BIAS_BITS-1:0] cfg_bias [0:`RM_CFG_BIAS_COUNT-1];
    wire signed [`RM_CFG_BIAS_BITS-1:0] tb_bias = cfg_bias[tb_chan];
    reg  [`RM_CFG_SHIFT_BITS-1:0] cfg_shift [0:`RM_CFG_SHIFT_COUNT-1];
    wire signed [`RM_CFG_SHIFT_BITS-1:0] tb_shift = cfg_shift[tb_chan];

    wire [63:0] dut_bias = tb_bias;          // sign-extended
    wire [15:0] dut_gain_c = tb_gain_c;      // sign-extended
    wire [7:0]  dut_m;
    wire [4:0]  dut_n;
    wire [63:0] dut_b;

`ifdef RM_DP_M_FILE
    reg [`RM_DP_M_BITS-1:0] dp_m_mem [0:NV-1];
    reg [`RM_DP_N_BITS-1:0] dp_n_mem [0:NV-1];
    reg [`RM_DP_B_BITS-1:0] dp_b_mem [0:NV-1];
    always @(posedge clk) begin
        if (!rst && out_valid && out_ready && out_idx < NV) begin
            if (as_int(dut_m, 8, 0) != as_int(dp_m_mem[out_idx], `RM_DP_M_BITS, 1)
                    || as_int(dut_n, 5, 0) != as_int(dp_n_mem[out_idx], `RM_DP_N_BITS, 1)
                    || as_int(dut_b, 64, 1) != as_int(dp_b_mem[out_idx], `RM_DP_B_BITS, 1)) begin
                $display("datapath mismatch at index %0d: M, N, B expected %0d, %0d, %0d, got %0d, %0d, %0d", out_idx,
                         as_int(dp_m_mem[out_idx], `RM_DP_M_BITS, 1), as_int(dp_n_mem[out_idx], `RM_DP_N_BITS, 1),
                         as_int(dp_b_mem[out_idx], `RM_DP_B_BITS, 1), dut_m, dut_n, as_int(dut_b, 64, 1));
                errors = errors + 1;
            end
        end
    end
`endif

    task rm_load_cfg;
        integer j;
        begin
            if (`RM_CFG_IN_BITS != IN_BITS || `RM_CFG_OUT_BITS != OUT_BITS || `RM_CFG_CHANNELS != COLS
                    || `RM_CFG_B_FRAC != 23 || `RM_CFG_BIAS_FRAC != 22) begin
                $display("rm_tb: inconsistent set: in_bits %0d, out_bits %0d, channels %0d, b_frac %0d, bias_frac %0d",
                         `RM_CFG_IN_BITS, `RM_CFG_OUT_BITS, `RM_CFG_CHANNELS, `RM_CFG_B_FRAC, `RM_CFG_BIAS_FRAC);
                errors = errors + 1;
            end
            if (`RM_CFG_GAIN_M_COUNT != COLS) begin
                $display("rm_tb: cfg_gain_m has %0d entries, expected one per column (%0d)", `RM_CFG_GAIN_M_COUNT, COLS);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_GAIN_M_FILE), cfg_gain_m);
            for (j = 0; j < `RM_CFG_GAIN_M_COUNT; j = j + 1)
                if (^cfg_gain_m[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_GAIN_M_FILE), j);
                    errors = errors + 1;
                end
            if (`RM_CFG_GAIN_C_COUNT != COLS) begin
                $display("rm_tb: cfg_gain_c has %0d entries, expected one per column (%0d)", `RM_CFG_GAIN_C_COUNT, COLS);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_GAIN_C_FILE), cfg_gain_c);
            for (j = 0; j < `RM_CFG_GAIN_C_COUNT; j = j + 1)
                if (^cfg_gain_c[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_GAIN_C_FILE), j);
                    errors = errors + 1;
                end
            if (`RM_CFG_SIGN_COUNT != COLS) begin
                $display("rm_tb: cfg_sign has %0d entries, expected one per column (%0d)", `RM_CFG_SIGN_COUNT, COLS);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_SIGN_FILE), cfg_sign);
            for (j = 0; j < `RM_CFG_SIGN_COUNT; j = j + 1)
                if (^cfg_sign[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_SIGN_FILE), j);
                    errors = errors + 1;
                end
            if (`RM_CFG_BIAS_COUNT != COLS) begin
                $display("rm_tb: cfg_bias has %0d entries, expected one per column (%0d)", `RM_CFG_BIAS_COUNT, COLS);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_BIAS_FILE), cfg_bias);
            for (j = 0; j < `RM_CFG_BIAS_COUNT; j = j + 1)
                if (^cfg_bias[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_BIAS_FILE), j);
                    errors = errors + 1;
                end
            if (`RM_CFG_SHIFT_COUNT != COLS) begin
                $display("rm_tb: cfg_shift has %0d entries, expected one per column (%0d)", `RM_CFG_SHIFT_COUNT, COLS);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_SHIFT_FILE), cfg_shift);
            for (j = 0; j < `RM_CFG_SHIFT_COUNT; j = j + 1)
                if (^cfg_shift[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_SHIFT_FILE), j);
                    errors = errors + 1;
                end
`ifdef RM_DP_M_FILE
            $readmemh(file_path(`RM_DP_M_FILE), dp_m_mem);
            $readmemh(file_path(`RM_DP_N_FILE), dp_n_mem);
            $readmemh(file_path(`RM_DP_B_FILE), dp_b_mem);
            for (j = 0; j < NV; j = j + 1)
                if (^dp_m_mem[j] === 1'bx || ^dp_n_mem[j] === 1'bx || ^dp_b_mem[j] === 1'bx) begin
                    $display("rm_tb: the datapath files have no valid element %0d", j);
                    errors = errors + 1;
                end
`endif
        end
    endtask

    rm_fqvit_layernorm #(
        .COLS(COLS),
        .IN_BITS(IN_BITS),
        .OUT_BITS(OUT_BITS),
        .ZP(`RM_CFG_ZERO_POINT)
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
        .dp_m(dut_m),
        .dp_n(dut_n),
        .dp_b(dut_b),
        .ch_idx(ch_idx),
        .ch_gain_m(tb_gain_m[30:0]),
        .ch_gain_c(dut_gain_c),
        .ch_neg(tb_sign < 0),
        .ch_bias(dut_bias),
        .ch_shift(tb_shift[1:0])
    );
