// DUT adapter of rm_tb for `requant_add` (a shaped set; included inside module rm_tb).
// Streams A (input_a.hex) and B (input_b.hex) both carry one element per element of a, in a's
// row-major order; b, whose shape broadcasts to a's (numpy rules: aligned on the last axis,
// missing or size-1 axes repeat), is read at the broadcast index. m_a, c_a, m_b, c_b are per
// channel (cfg_<key>.hex, one entry per column) or one scalar each; the channel of the n-th
// element is n % COLS.

    localparam integer C_BITS = 32;
    localparam integer A_ROW = COLS;
    localparam integer B_ROW = COLS;
    localparam integer A_DIMS = `RM_INPUT_A_DIMS;
    localparam integer B_DIMS = `RM_INPUT_B_DIMS;

    integer a_dim [0:7];
    integer b_dim [0:7];
    integer dim_i;
    initial begin
        for (dim_i = 0; dim_i < 8; dim_i = dim_i + 1) begin
            a_dim[dim_i] = 1;
            b_dim[dim_i] = 1;
        end
`ifdef RM_INPUT_A_DIM0 a_dim[0] = `RM_INPUT_A_DIM0; `endif
`ifdef RM_INPUT_A_DIM1 a_dim[1] = `RM_INPUT_A_DIM1; `endif
`ifdef RM_INPUT_A_DIM2 a_dim[2] = `RM_INPUT_A_DIM2; `endif
`ifdef RM_INPUT_A_DIM3 a_dim[3] = `RM_INPUT_A_DIM3; `endif
`ifdef RM_INPUT_A_DIM4 a_dim[4] = `RM_INPUT_A_DIM4; `endif
`ifdef RM_INPUT_A_DIM5 a_dim[5] = `RM_INPUT_A_DIM5; `endif
`ifdef RM_INPUT_A_DIM6 a_dim[6] = `RM_INPUT_A_DIM6; `endif
`ifdef RM_INPUT_A_DIM7 a_dim[7] = `RM_INPUT_A_DIM7; `endif
`ifdef RM_INPUT_B_DIM0 b_dim[0] = `RM_INPUT_B_DIM0; `endif
`ifdef RM_INPUT_B_DIM1 b_dim[1] = `RM_INPUT_B_DIM1; `endif
`ifdef RM_INPUT_B_DIM2 b_dim[2] = `RM_INPUT_B_DIM2; `endif
`ifdef RM_INPUT_B_DIM3 b_dim[3] = `RM_INPUT_B_DIM3; `endif
`ifdef RM_INPUT_B_DIM4 b_dim[4] = `RM_INPUT_B_DIM4; `endif
`ifdef RM_INPUT_B_DIM5 b_dim[5] = `RM_INPUT_B_DIM5; `endif
`ifdef RM_INPUT_B_DIM6 b_dim[6] = `RM_INPUT_B_DIM6; `endif
`ifdef RM_INPUT_B_DIM7 b_dim[7] = `RM_INPUT_B_DIM7; `endif
    end

    function integer a_index(input integer n);
        a_index = n;
    endfunction
    // The element of b that broadcasts to a's element n.
    function integer b_index(input integer n);
        integer rem, d, db, ia, idx, stride;
        begin
            rem = n;
            idx = 0;
            stride = 1;
            for (d = A_DIMS - 1; d >= 0; d = d - 1) begin
                ia = rem % a_dim[d];
                rem = rem / a_dim[d];
                db = d - (A_DIMS - B_DIMS);
                if (db >= 0) begin
                    if (b_dim[db] != 1)
                        idx = idx + ia * stride;
                    stride = stride * b_dim[db];
                end
            end
            b_index = idx;
        end
    endfunction

    integer chan;
    always @* chan = a_idx % COLS;

    wire [30:0]       dut_m_a, dut_m_b;
    wire [C_BITS-1:0] dut_c_a, dut_c_b;
`ifdef RM_CFG_M_A_FILE
    reg [`RM_CFG_M_A_BITS-1:0] cfg_m_a [0:`RM_CFG_M_A_COUNT-1];
    assign dut_m_a = cfg_m_a[chan][30:0];
`else
    assign dut_m_a = `RM_CFG_M_A;
`endif
`ifdef RM_CFG_C_A_FILE
    reg [`RM_CFG_C_A_BITS-1:0] cfg_c_a [0:`RM_CFG_C_A_COUNT-1];
    assign dut_c_a = cfg_c_a[chan];
`else
    assign dut_c_a = `RM_CFG_C_A;
`endif
`ifdef RM_CFG_M_B_FILE
    reg [`RM_CFG_M_B_BITS-1:0] cfg_m_b [0:`RM_CFG_M_B_COUNT-1];
    assign dut_m_b = cfg_m_b[chan][30:0];
`else
    assign dut_m_b = `RM_CFG_M_B;
`endif
`ifdef RM_CFG_C_B_FILE
    reg [`RM_CFG_C_B_BITS-1:0] cfg_c_b [0:`RM_CFG_C_B_COUNT-1];
    assign dut_c_b = cfg_c_b[chan];
`else
    assign dut_c_b = `RM_CFG_C_B;
`endif

    // A per-channel constant file: one valid entry per column.
    task check_cfg(input string name, input integer count);
        begin
            if (count != COLS) begin
                $display("rm_tb: %s has %0d entries, expected one per column (%0d)", name, count, COLS);
                errors = errors + 1;
            end
        end
    endtask

    task rm_load_cfg;
        integer j;
        begin
            if (`RM_CFG_A_BITS != A_BITS || `RM_CFG_B_BITS != B_BITS || `RM_CFG_OUT_BITS != OUT_BITS
                    || `RM_CFG_BRANCH_BITS != 32 || A_COUNT != NV || A_DIMS > 8 || B_DIMS > A_DIMS) begin
                $display("rm_tb: inconsistent set: a_bits %0d, b_bits %0d, out_bits %0d, branch_bits %0d, %0d-axis a of %0d elements, %0d-axis b",
                         `RM_CFG_A_BITS, `RM_CFG_B_BITS, `RM_CFG_OUT_BITS, `RM_CFG_BRANCH_BITS, A_DIMS, A_COUNT, B_DIMS);
                errors = errors + 1;
            end
`ifdef RM_CFG_M_A_FILE
            check_cfg(`RM_CFG_M_A_FILE, `RM_CFG_M_A_COUNT);
            $readmemh(file_path(`RM_CFG_M_A_FILE), cfg_m_a);
            for (j = 0; j < `RM_CFG_M_A_COUNT; j = j + 1)
                if (^cfg_m_a[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_M_A_FILE), j);
                    errors = errors + 1;
                end
`endif
`ifdef RM_CFG_C_A_FILE
            check_cfg(`RM_CFG_C_A_FILE, `RM_CFG_C_A_COUNT);
            $readmemh(file_path(`RM_CFG_C_A_FILE), cfg_c_a);
            for (j = 0; j < `RM_CFG_C_A_COUNT; j = j + 1)
                if (^cfg_c_a[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_C_A_FILE), j);
                    errors = errors + 1;
                end
`endif
`ifdef RM_CFG_M_B_FILE
            check_cfg(`RM_CFG_M_B_FILE, `RM_CFG_M_B_COUNT);
            $readmemh(file_path(`RM_CFG_M_B_FILE), cfg_m_b);
            for (j = 0; j < `RM_CFG_M_B_COUNT; j = j + 1)
                if (^cfg_m_b[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_M_B_FILE), j);
                    errors = errors + 1;
                end
`endif
`ifdef RM_CFG_C_B_FILE
            check_cfg(`RM_CFG_C_B_FILE, `RM_CFG_C_B_COUNT);
            $readmemh(file_path(`RM_CFG_C_B_FILE), cfg_c_b);
            for (j = 0; j < `RM_CFG_C_B_COUNT; j = j + 1)
                if (^cfg_c_b[j] === 1'bx) begin
                    $display("rm_tb: %s has no valid entry %0d", file_path(`RM_CFG_C_B_FILE), j);
                    errors = errors + 1;
                end
`endif
        end
    endtask

    rm_requant_add #(
        .A_BITS(A_BITS),
        .B_BITS(B_BITS),
        .OUT_BITS(OUT_BITS),
        .OUT_SIGNED(`RM_CFG_SIGNED),
        .C_BITS(C_BITS)
    ) dut (
        .clk(clk),
        .rst(rst),
        .a_valid(a_valid),
        .a_ready(a_ready),
        .a_data(a_data),
        .in_m_a(dut_m_a),
        .in_c_a(dut_c_a),
        .b_valid(b_valid),
        .b_ready(b_ready),
        .b_data(b_data),
        .in_m_b(dut_m_b),
        .in_c_b(dut_c_b),
        .out_valid(out_valid),
        .out_ready(out_ready),
        .out_data(out_data)
    );
