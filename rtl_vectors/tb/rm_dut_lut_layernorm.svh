// DUT adapter of rm_tb for `lut.layernorm` (included inside module rm_tb).
// The reciprocal-square-root table (cfg_table.hex, 2^index_bits entries in [2^29, 2^30)) is
// written into the DUT through its table write port, one entry per clock, while the testbench
// holds reset. bi and gamma_sign are per channel (cfg_bi.hex, cfg_gamma_sign.hex, one entry per
// column); the DUT names the channel it reads on ch_idx.

    localparam integer TBL_BITS = `RM_CFG_TABLE_BITS;
    localparam integer TBL_COUNT = `RM_CFG_TABLE_COUNT;
    localparam integer TBL_K = `RM_CFG_INDEX_BITS;

    reg  [TBL_BITS-1:0] cfg_table [0:TBL_COUNT-1];
    reg                 tbl_we = 1'b0;
    reg  [TBL_K-1:0]    tbl_addr;
    reg  [29:0]         tbl_wdata;

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
        reg signed [63:0] entry;
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
            if (TBL_COUNT != (1 << TBL_K)) begin
                $display("rm_tb: cfg_table has %0d entries, expected 2^index_bits = %0d", TBL_COUNT, 1 << TBL_K);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_TABLE_FILE), cfg_table);
            for (j = 0; j < TBL_COUNT; j = j + 1) begin
                entry = as_int(cfg_table[j], TBL_BITS, 1);
                if (^cfg_table[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_TABLE_FILE), j);
                    errors = errors + 1;
                end else if (entry < (64'sd1 << 29) || entry >= (64'sd1 << 30)) begin
                    $display("rm_tb: %s: entry %0d is %0d, outside [2^29, 2^30)", file_path(`RM_CFG_TABLE_FILE), j, entry);
                    errors = errors + 1;
                end
            end
            if (errors == 0) begin
                for (j = 0; j < TBL_COUNT; j = j + 1) begin
                    tbl_we = 1'b1;
                    tbl_addr = j;
                    tbl_wdata = cfg_table[j];
                    @(posedge clk);
                    #1;
                end
                tbl_we = 1'b0;
            end
        end
    endtask

    rm_lut_layernorm #(
        .COLS(COLS),
        .IN_BITS(IN_BITS),
        .OUT_BITS(OUT_BITS),
        .SHIFT(`RM_CFG_SHIFT),
        .K(TBL_K)
    ) dut (
        .clk(clk),
        .rst(rst),
        .tbl_we(tbl_we),
        .tbl_addr(tbl_addr),
        .tbl_wdata(tbl_wdata),
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
