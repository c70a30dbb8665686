// DUT adapter of rm_tb for `quantize` (a shaped set; included inside module rm_tb).
// The input (input.hex) holds the float64 bit pattern of each real value; stream A carries
// them in order, one output per input. The scale is a float the op keeps out of its register
// config (docs/ops/quantize.md), so refmodel.rtl writes it from meta.json's params, as float64
// bit patterns (one, or one per column), to a file named by `RM_QUANT_SCALE_FILE (an absolute
// path) with `RM_QUANT_SCALE_COUNT entries; the channel of element i is i % COLS.

    localparam integer A_ROW = COLS;
    localparam integer B_ROW = 0;
`ifndef RM_QUANT_SCALE_FILE
    `define RM_QUANT_SCALE_FILE "scale.hex"
    `define RM_QUANT_SCALE_COUNT 0
`endif
    localparam integer SCALES = `RM_QUANT_SCALE_COUNT;

    function integer a_index(input integer n);
        a_index = n;
    endfunction
    function integer b_index(input integer n);
        b_index = 0;
    endfunction
    assign b_ready = 1'b0;

    reg  [63:0] scale_mem [0:((SCALES > 0) ? SCALES : 1)-1];
    wire [63:0] dut_scale = scale_mem[(SCALES > 1) ? (a_idx % COLS) : 0];

    task rm_load_cfg;
        integer j;
        begin
            if (SCALES != 1 && SCALES != COLS) begin
                $display("rm_tb: %0d scales, expected one or one per column (%0d): run the set through refmodel.rtl, which writes them", SCALES, COLS);
                errors = errors + 1;
            end else begin
                $readmemh(`RM_QUANT_SCALE_FILE, scale_mem);
                for (j = 0; j < SCALES; j = j + 1)
                    if (^scale_mem[j] === 1'bx) begin
                        $display("rm_tb: %s has no valid entry %0d", `RM_QUANT_SCALE_FILE, j);
                        errors = errors + 1;
                    end
            end
            if (A_BITS != 64 || `RM_CFG_BITS != OUT_BITS || `RM_CFG_SIGNED != OUT_SIGNED || A_COUNT != `RM_N_VECTORS) begin
                $display("rm_tb: inconsistent set: input %0d bits (%0d elements), bits %0d, %0d outputs", A_BITS, A_COUNT, `RM_CFG_BITS, `RM_N_VECTORS);
                errors = errors + 1;
            end
        end
    endtask

    rm_quantize #(
        .OUT_BITS(OUT_BITS),
        .OUT_SIGNED(`RM_CFG_SIGNED),
        .ZP(`RM_CFG_ZERO_POINT)
    ) dut (
        .clk(clk),
        .rst(rst),
        .in_valid(a_valid),
        .in_ready(a_ready),
        .in_data(a_data),
        .in_scale(dut_scale),
        .out_valid(out_valid),
        .out_ready(out_ready),
        .out_data(out_data)
    );
