// DUT adapter of rm_tb for `gemm` (a shaped set; included inside module rm_tb).
// Stream A carries input.hex (rows of K elements) in order; there is no stream B. The
// weights (cfg_weight.hex, N x K row-major) and the bias (cfg_bias.hex, N entries) are the
// memory outside the DUT, read on its port: W[w_n, w_k] and B[w_n] in the same cycle.

    localparam integer N = COLS;
    localparam integer K = `RM_CFG_WEIGHT_COUNT / ((COLS > 0) ? COLS : 1);
    localparam integer W_BITS = `RM_CFG_W_BITS;
    localparam integer A_ROW = K;
    localparam integer B_ROW = 0;

    function integer a_index(input integer n);
        a_index = n;
    endfunction
    function integer b_index(input integer n);
        b_index = 0;
    endfunction

    reg  [`RM_CFG_WEIGHT_BITS-1:0] cfg_weight [0:`RM_CFG_WEIGHT_COUNT-1];
    reg  [`RM_CFG_BIAS_BITS-1:0]   cfg_bias   [0:`RM_CFG_BIAS_COUNT-1];
    wire [((N > 1) ? $clog2(N) : 1)-1:0] w_n;
    wire [((K > 1) ? $clog2(K) : 1)-1:0] w_k;
    integer w_at;
    integer b_at;
    always @* begin
        w_at = w_n * K + w_k;
        b_at = w_n;
    end
    wire signed [W_BITS-1:0] dut_w = $signed(cfg_weight[w_at]);   // sign-extended to W_BITS
    wire signed [31:0]       dut_b = $signed(cfg_bias[b_at]);     // sign-extended to 32 bits
    wire                     out_last;

    assign b_ready = 1'b0;

    task rm_load_cfg;
        integer j;
        begin
            if (`RM_CFG_IN_BITS != A_BITS || `RM_CFG_ACC_BITS != OUT_BITS || `RM_CFG_BIAS_COUNT != N
                    || K * N != `RM_CFG_WEIGHT_COUNT || A_COUNT != ROWS * K || `RM_CFG_WEIGHT_BITS > W_BITS) begin
                $display("rm_tb: inconsistent set: in_bits %0d, acc_bits %0d, %0d weights of %0d bits, %0d biases, %0d inputs, %0d outputs",
                         `RM_CFG_IN_BITS, `RM_CFG_ACC_BITS, `RM_CFG_WEIGHT_COUNT, `RM_CFG_WEIGHT_BITS, `RM_CFG_BIAS_COUNT, A_COUNT, NV);
                errors = errors + 1;
            end
            $readmemh(file_path(`RM_CFG_WEIGHT_FILE), cfg_weight);
            for (j = 0; j < `RM_CFG_WEIGHT_COUNT; j = j + 1)
                if (^cfg_weight[j] === 1'bx && errors == 0) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_WEIGHT_FILE), j);
                    errors = errors + 1;
                end
            $readmemh(file_path(`RM_CFG_BIAS_FILE), cfg_bias);
            for (j = 0; j < `RM_CFG_BIAS_COUNT; j = j + 1)
                if (^cfg_bias[j] === 1'bx && errors == 0) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_BIAS_FILE), j);
                    errors = errors + 1;
                end
        end
    endtask

    rm_gemm #(
        .K(K),
        .N(N),
        .IN_BITS(A_BITS),
        .W_BITS(W_BITS),
        .ACC_BITS(OUT_BITS)
    ) dut (
        .clk(clk),
        .rst(rst),
        .in_valid(a_valid),
        .in_ready(a_ready),
        .in_data(a_data),
        .w_n(w_n),
        .w_k(w_k),
        .w_data(dut_w),
        .b_data(dut_b),
        .out_valid(out_valid),
        .out_ready(out_ready),
        .out_data(out_data),
        .out_last(out_last)
    );
