// DUT adapter of rm_tb for `fqvit.attend` (a shaped set; included inside module rm_tb).
// codes (input_codes.hex) have shape (..., M, K) and v (input_v.hex) (..., K, N). Stream A
// carries the rows of codes in order; stream B carries, for each row of codes (output row r,
// batch r / M), the N columns of that batch's v, column by column: the n-th transfer is
// v[batch, k, d] with d = (n / K) % N, k = n % K (as rm_dut_matmul.svh).

    localparam integer K = `RM_CFG_DEPTH;
    localparam integer N = COLS;
    localparam integer BATCHES = B_COUNT / ((K * N > 0) ? K * N : 1);
    localparam integer M = ROWS / ((BATCHES > 0) ? BATCHES : 1);
    localparam integer A_ROW = K;
    localparam integer B_ROW = N * K;

    function integer a_index(input integer n);
        a_index = n;
    endfunction
    function integer b_index(input integer n);
        integer r, d, k;
        begin
            r = n / (N * K);
            d = (n / K) % N;
            k = n % K;
            b_index = (r / M) * K * N + k * N + d;
        end
    endfunction

    wire out_last;

    task rm_load_cfg;
        begin
            if (`RM_CFG_CODE_BITS != A_BITS || `RM_CFG_V_BITS != B_BITS || A_SIGNED != 0 || B_SIGNED != 1
                    || `RM_CFG_ZERO_CODE != (1 << A_BITS) - 1 || `RM_CFG_ACC_BITS != OUT_BITS
                    || A_COUNT != ROWS * K || BATCHES * M != ROWS || B_COUNT != BATCHES * K * N) begin
                $display("rm_tb: inconsistent set: codes %0d bits (%0d elements), v %0d bits (%0d elements), depth %0d, acc_bits %0d, %0d x %0d outputs",
                         `RM_CFG_CODE_BITS, A_COUNT, `RM_CFG_V_BITS, B_COUNT, K, `RM_CFG_ACC_BITS, ROWS, N);
                errors = errors + 1;
            end
        end
    endtask

    rm_fqvit_attend #(
        .K(K),
        .N(N),
        .CODE_BITS(A_BITS),
        .V_BITS(B_BITS),
        .F(`RM_CFG_FRAC_BITS),
        .ACC_BITS(OUT_BITS)
    ) dut (
        .clk(clk),
        .rst(rst),
        .a_valid(a_valid),
        .a_ready(a_ready),
        .a_data(a_data),
        .b_valid(b_valid),
        .b_ready(b_ready),
        .b_data(b_data),
        .out_valid(out_valid),
        .out_ready(out_ready),
        .out_data(out_data),
        .out_last(out_last)
    );
