// DUT adapter of rm_tb for `ibert.softmax` (included inside module rm_tb).
// Every register value is a scalar define of the set's .svh.

    wire out_last;

    task rm_load_cfg;
        begin
            if (`RM_CFG_OUT_SHIFT != 32 - OUT_BITS || `RM_CFG_IN_BITS != IN_BITS) begin
                $display("rm_tb: inconsistent set: out_shift %0d, in_bits %0d", `RM_CFG_OUT_SHIFT, `RM_CFG_IN_BITS);
                errors = errors + 1;
            end
        end
    endtask

    rm_ibert_softmax #(
        .COLS(COLS),
        .IN_BITS(IN_BITS),
        .OUT_BITS(OUT_BITS),
        .X0(`RM_CFG_X0),
        .BQ(`RM_CFG_BQ),
        .CQ(`RM_CFG_CQ),
        .N(`RM_CFG_N),
        .M16(`RM_CFG_M),
        .C16(`RM_CFG_C),
        .OUT_SHIFT(`RM_CFG_OUT_SHIFT)
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
