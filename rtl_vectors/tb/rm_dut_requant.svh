// DUT adapter of rm_tb for `requant` (included inside module rm_tb).
// m and c are per channel (files cfg_m.hex / cfg_c.hex, one entry per column) or one scalar
// each (`RM_CFG_M / `RM_CFG_C); the channel of element i is i % COLS. The zero point is one
// scalar per set (`RM_CFG_ZERO_POINT), the block's ZP parameter.

    localparam integer C_BITS = 32;
    wire [30:0]       dut_m;
    wire [C_BITS-1:0] dut_c;
    integer           chan;
    always @* chan = in_idx % COLS;

`ifdef RM_CFG_M_FILE
    reg [`RM_CFG_M_BITS-1:0] cfg_m [0:`RM_CFG_M_COUNT-1];
    assign dut_m = cfg_m[chan][30:0];
`else
    assign dut_m = `RM_CFG_M;
`endif
`ifdef RM_CFG_C_FILE
    reg [`RM_CFG_C_BITS-1:0] cfg_c [0:`RM_CFG_C_COUNT-1];
    assign dut_c = cfg_c[chan];
`else
    assign dut_c = `RM_CFG_C;
`endif

    task rm_load_cfg;
        integer j;
        begin
`ifdef RM_CFG_M_FILE
            if (`RM_CFG_M_COUNT != COLS) begin
                $display("rm_tb: cfg_m has %0d entries, expected one per column (%0d)", `RM_CFG_M_COUNT, COLS);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_M_FILE), cfg_m);
            for (j = 0; j < `RM_CFG_M_COUNT; j = j + 1)
                if (^cfg_m[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_M_FILE), j);
                    errors = errors + 1;
                end
`endif
`ifdef RM_CFG_C_FILE
            if (`RM_CFG_C_COUNT != COLS) begin
                $display("rm_tb: cfg_c has %0d entries, expected one per column (%0d)", `RM_CFG_C_COUNT, COLS);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_C_FILE), cfg_c);
            for (j = 0; j < `RM_CFG_C_COUNT; j = j + 1)
                if (^cfg_c[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_C_FILE), j);
                    errors = errors + 1;
                end
`endif
        end
    endtask

    rm_requant #(
        .IN_BITS(IN_BITS),
        .OUT_BITS(OUT_BITS),
        .OUT_SIGNED(`RM_CFG_SIGNED),
        .C_BITS(C_BITS),
        .ZP(`RM_CFG_ZERO_POINT)
    ) dut (
        .clk(clk),
        .rst(rst),
        .in_valid(in_valid),
        .in_ready(in_ready),
        .in_data(in_data),
        .in_m(dut_m),
        .in_c(dut_c),
        .out_valid(out_valid),
        .out_ready(out_ready),
        .out_data(out_data)
    );
