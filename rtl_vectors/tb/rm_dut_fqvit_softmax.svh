// DUT adapter of rm_tb for `fqvit.softmax` (included inside module rm_tb).
// Every register value is a scalar define of the set's .svh.

    wire out_last;

    task rm_load_cfg;
        begin
            if (`RM_CFG_N != 30 || `RM_CFG_IN_BITS != IN_BITS || `RM_CFG_ZERO_CODE != (64'd1 << OUT_BITS) - 1) begin
                $display("rm_tb: inconsistent set: n %0d, in_bits %0d, zero_code %0d", `RM_CFG_N, `RM_CFG_IN_BITS, `RM_CFG_ZERO_CODE);
                errors = errors + 1;
            end
        end
    endtask

    rm_fqvit_softmax #(
        .COLS(COLS),
        .IN_BITS(IN_BITS),
        .OUT_BITS(OUT_BITS),
        .X0(`RM_CFG_X0),
        .BQ(`RM_CFG_BQ),
        .CQ(`RM_CFG_CQ)
    ) dut (
        .clk(clk),
        .rst(rst),
        .in_valid(in_valid),
        .in_ready(in_ready),
        .in_data(in_data),
        .out_valid(out_valid),
        .out_ready(out_ready),
        .out_data(out_data),
        .out_last(out_last)
    );
