// DUT adapter of rm_tb for `lut.softmax` (included inside module rm_tb).
// The exp table (cfg_table.hex, TABLE_COUNT entries in [0, 2^frac_bits]) is written into the
// DUT through its table write port, one entry per clock, while the testbench holds reset;
// frac_bits and out_shift are scalar defines.

    localparam integer TBL_BITS = `RM_CFG_TABLE_BITS;
    localparam integer TBL_COUNT = `RM_CFG_TABLE_COUNT;
    localparam integer FRAC = `RM_CFG_FRAC_BITS;
    localparam integer TBL_AW = (TBL_COUNT > 1) ? $clog2(TBL_COUNT) : 1;

    wire                   out_last;
    reg  [TBL_BITS-1:0]    cfg_table [0:TBL_COUNT-1];
    reg                    tbl_we = 1'b0;
    reg  [TBL_AW-1:0]      tbl_addr;
    reg  [FRAC:0]          tbl_wdata;

    task rm_load_cfg;
        integer j;
        reg signed [63:0] entry;
        begin
            if (`RM_CFG_IN_BITS != IN_BITS || `RM_CFG_OUT_BITS != OUT_BITS || `RM_CFG_OUT_SHIFT != 63 - OUT_BITS
                    || TBL_COUNT < 2 || TBL_COUNT > (1 << IN_BITS)) begin
                $display("rm_tb: inconsistent set: in_bits %0d, out_bits %0d, out_shift %0d, table of %0d entries",
                         `RM_CFG_IN_BITS, `RM_CFG_OUT_BITS, `RM_CFG_OUT_SHIFT, TBL_COUNT);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_TABLE_FILE), cfg_table);
            for (j = 0; j < TBL_COUNT; j = j + 1) begin
                entry = as_int(cfg_table[j], TBL_BITS, 1);
                if (^cfg_table[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_TABLE_FILE), j);
                    errors = errors + 1;
                end else if (entry < 0 || entry > (64'sd1 << FRAC)) begin
                    $display("rm_tb: %s: entry %0d is %0d, outside [0, 2^%0d]", file_path(`RM_CFG_TABLE_FILE), j, entry, FRAC);
                    errors = errors + 1;
                end
            end
            if (errors == 0) begin
                for (j = 0; j < TBL_COUNT; j = j + 1) begin
                    tbl_we = 1'b1;
                    tbl_addr = j;
                    tbl_wdata = cfg_table[j];     // non-negative: the low FRAC + 1 bits
                    @(posedge clk);
                    #1;
                end
                tbl_we = 1'b0;
            end
        end
    endtask

    rm_lut_softmax #(
        .COLS(COLS),
        .IN_BITS(IN_BITS),
        .OUT_BITS(OUT_BITS),
        .FRAC_BITS(FRAC),
        .OUT_SHIFT(`RM_CFG_OUT_SHIFT),
        .TLEN(TBL_COUNT)
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
        .out_last(out_last)
    );
