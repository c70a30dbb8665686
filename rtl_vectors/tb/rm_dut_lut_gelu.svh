// DUT adapter of rm_tb for `lut.gelu` (included inside module rm_tb).
// The table (cfg_table.hex, 2^IN_BITS signed entries) is written into the DUT through its
// table write port, one entry per clock, while the testbench holds reset; offset, in_bits and
// out_bits are scalar defines checked against the set's widths.

    localparam integer TBL_BITS = `RM_CFG_TABLE_BITS;
    localparam integer TBL_COUNT = `RM_CFG_TABLE_COUNT;

    reg  [TBL_BITS-1:0] cfg_table [0:TBL_COUNT-1];
    reg                 tbl_we = 1'b0;
    reg  [IN_BITS-1:0]  tbl_addr;
    reg  [OUT_BITS-1:0] tbl_wdata;

    task rm_load_cfg;
        integer j;
        begin
            if (`RM_CFG_IN_BITS != IN_BITS || `RM_CFG_OUT_BITS != OUT_BITS || `RM_CFG_OFFSET != (1 << (IN_BITS - 1))
                    || TBL_COUNT != (1 << IN_BITS) || TBL_BITS > OUT_BITS) begin
                $display("rm_tb: inconsistent set: in_bits %0d, out_bits %0d, offset %0d, table of %0d entries of %0d bits",
                         `RM_CFG_IN_BITS, `RM_CFG_OUT_BITS, `RM_CFG_OFFSET, TBL_COUNT, TBL_BITS);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_TABLE_FILE), cfg_table);
            for (j = 0; j < TBL_COUNT; j = j + 1)
                if (^cfg_table[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_TABLE_FILE), j);
                    errors = errors + 1;
                end
            if (errors == 0) begin
                for (j = 0; j < TBL_COUNT; j = j + 1) begin
                    tbl_we = 1'b1;
                    tbl_addr = j;
                    tbl_wdata = $signed(cfg_table[j]);     // sign-extended to OUT_BITS
                    @(posedge clk);
                    #1;
                end
                tbl_we = 1'b0;
            end
        end
    endtask

    rm_lut_gelu #(
        .IN_BITS(IN_BITS),
        .OUT_BITS(OUT_BITS)
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
        .out_data(out_data)
    );
