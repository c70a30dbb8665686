// DUT adapter of rm_tb for `matmul` (a shaped set; included inside module rm_tb).
// a (input_a.hex) has shape (..., M, K) and b (input_b.hex) (..., K, N). Stream A carries a's
// rows in order; stream B carries, for each row of a (output row r, batch r / M), the N columns
// of that batch's b, column by column: the n-th transfer is b[batch, k, j] with
// j = (n / K) % N, k = n % K.

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
        integer r, j, k;
        begin
            r = n / (N * K);
            j = (n / K) % N;
            k = n % K;
            b_index = (r / M) * K * N + k * N + j;
        end
    endfunction

    wire out_last;

    task rm_load_cfg;
        begin
            if (`RM_CFG_A_BITS != A_BITS || `RM_CFG_B_BITS != B_BITS || `RM_CFG_A_SIGNED != A_SIGNED
                    || `RM_CFG_B_SIGNED != B_SIGNED || `RM_CFG_ACC_BITS != OUT_BITS || A_COUNT != ROWS * K
                    || BATCHES * M != ROWS || B_COUNT != BATCHES * K * N) begin
                $display("rm_tb: inconsistent set: a %0d bits (%0d elements), b %0d bits (%0d elements), depth %0d, acc_bits %0d, %0d x %0d outputs",
                         `RM_CFG_A_BITS, A_COUNT, `RM_CFG_B_BITS, B_COUNT, K, `RM_CFG_ACC_BITS, ROWS, N);
                errors = errors + 1;
            end
        end
    endtask

    rm_matmul #(
        .K(K),
        .N(N),
        .A_BITS(A_BITS),
        .A_SIGNED(A_SIGNED),
        .B_BITS(B_BITS),
        .B_SIGNED(B_SIGNED),
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
