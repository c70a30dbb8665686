// DUT adapter of rm_tb for `ivit.gelu` (included inside module rm_tb).
// Every register value is a scalar define of the set's .svh.

    wire out_last;

    task rm_load_cfg;
        begin
            if (`RM_CFG_SUM_MAX != 2147483647) begin
                $display("rm_tb: rm_ivit_gelu implements sum_max = 2^31 - 1, the set has %0d", `RM_CFG_SUM_MAX);
                errors = errors + 1;
            end
            if (`RM_CFG_SHIFT != 32 - `RM_CFG_SIG_BITS || `RM_CFG_IN_BITS != IN_BITS
                    || OUT_BITS != IN_BITS + `RM_CFG_SIG_BITS - 1) begin
                $display("rm_tb: inconsistent set: shift %0d, sig_bits %0d, in_bits %0d", `RM_CFG_SHIFT,
                         `RM_CFG_SIG_BITS, `RM_CFG_IN_BITS);
                errors = errors + 1;
            end
        end
    endtask

    rm_ivit_gelu #(
        .COLS(COLS),
        .IN_BITS(IN_BITS),
        .OUT_BITS(OUT_BITS),
        .X0(`RM_CFG_X0),
        .N(`RM_CFG_N),
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
        .out_last(out_last)
    );
