// DUT adapter of rm_tb for `ibert.gelu` (included inside module rm_tb).
// bg, cg, one are per channel (files cfg_bg.hex, cfg_cg.hex, cfg_one.hex, one entry per
// column) or one scalar each (`RM_CFG_BG, ...); the channel of element i is i % COLS.

    integer chan;
    always @* chan = in_idx % COLS;

`ifdef RM_CFG_BG_FILE
    localparam integer BG_BITS = `RM_CFG_BG_BITS;
    reg  [BG_BITS-1:0] cfg_bg [0:`RM_CFG_BG_COUNT-1];
    wire [BG_BITS-1:0] dut_bg = cfg_bg[chan];
`else
    localparam integer BG_BITS = 64;
    wire [63:0] dut_bg = `RM_CFG_BG;
`endif
`ifdef RM_CFG_CG_FILE
    localparam integer CG_BITS = `RM_CFG_CG_BITS;
    reg  [CG_BITS-1:0] cfg_cg [0:`RM_CFG_CG_COUNT-1];
    wire [CG_BITS-1:0] dut_cg = cfg_cg[chan];
`else
    localparam integer CG_BITS = 64;
    wire [63:0] dut_cg = `RM_CFG_CG;
`endif
`ifdef RM_CFG_ONE_FILE
    localparam integer ONE_BITS = `RM_CFG_ONE_BITS;
    reg  [ONE_BITS-1:0] cfg_one [0:`RM_CFG_ONE_COUNT-1];
    wire [ONE_BITS-1:0] dut_one = cfg_one[chan];
`else
    localparam integer ONE_BITS = 64;
    wire [63:0] dut_one = `RM_CFG_ONE;
`endif

    task rm_load_cfg;
        integer j;
        begin
            if (`RM_CFG_N != 14 || `RM_CFG_IN_BITS != IN_BITS || `RM_CFG_OUT_BITS != OUT_BITS) begin
                $display("rm_tb: inconsistent set: n %0d, in_bits %0d, out_bits %0d", `RM_CFG_N, `RM_CFG_IN_BITS, `RM_CFG_OUT_BITS);
                errors = errors + 1;
            end
`ifdef RM_CFG_BG_FILE
            if (`RM_CFG_BG_COUNT != COLS) begin
                $display("rm_tb: cfg_bg has %0d entries, expected one per column (%0d)", `RM_CFG_BG_COUNT, COLS);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_BG_FILE), cfg_bg);
            for (j = 0; j < `RM_CFG_BG_COUNT; j = j + 1)
                if (^cfg_bg[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_BG_FILE), j);
                    errors = errors + 1;
                end
`endif
`ifdef RM_CFG_CG_FILE
            if (`RM_CFG_CG_COUNT != COLS) begin
                $display("rm_tb: cfg_cg has %0d entries, expected one per column (%0d)", `RM_CFG_CG_COUNT, COLS);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_CG_FILE), cfg_cg);
            for (j = 0; j < `RM_CFG_CG_COUNT; j = j + 1)
                if (^cfg_cg[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_CG_FILE), j);
                    errors = errors + 1;
                end
`endif
`ifdef RM_CFG_ONE_FILE
            if (`RM_CFG_ONE_COUNT != COLS) begin
                $display("rm_tb: cfg_one has %0d entries, expected one per column (%0d)", `RM_CFG_ONE_COUNT, COLS);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_ONE_FILE), cfg_one);
            for (j = 0; j < `RM_CFG_ONE_COUNT; j = j + 1)
                if (^cfg_one[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_ONE_FILE), j);
                    errors = errors + 1;
                end
`endif
        end
    endtask

    rm_ibert_gelu #(
        .IN_BITS(IN_BITS),
        .OUT_BITS(OUT_BITS),
        .BG_BITS(BG_BITS),
        .CG_BITS(CG_BITS),
        .ONE_BITS(ONE_BITS)
    ) dut (
        .clk(clk),
        .rst(rst),
        .in_valid(in_valid),
        .in_ready(in_ready),
        .in_data(in_data),
        .in_bg(dut_bg),
        .in_cg(dut_cg),
        .in_one(dut_one),
        .out_valid(out_valid),
        .out_ready(out_ready),
        .out_data(out_data)
    );
