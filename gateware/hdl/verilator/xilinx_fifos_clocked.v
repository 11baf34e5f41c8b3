// neurram-lab: the Xilinx FIFO models of drivers/rtl/hdl/xilinx_fifos.v in their first, plainly clocked form
// (d6046e6), for the Verilator build only (gateware/verilator.py): the same cycle-by-cycle behaviour, but
// statically scheduled; the sleeping form there (wait + @ + #0, fast under Icarus) is ~90 coroutine
// trigger schedulers under Verilator --timing. Equal results: 121 pulses, 7128011.04 ns on the 16-cell job.
`timescale 1ns / 1ps
// neurram-lab: behavioural models of the Xilinx FIFO Generator cores the authors' design names
// (independent clocks, asynchronous reset), written from the core's documented behaviour: full/wr_ack in
// the write domain (wr_ack the cycle after an accepted write), empty/valid in the read domain; each
// pointer reaches the other domain through two flops, as in the core. Standard read: dout and valid the
// cycle after rd_en; first-word fall-through (FWFT): dout shows the next word while valid (= !empty) and
// rd_en takes it. A wider write side is read most significant word first. Not the generated IP.

module rtl_async_fifo #(parameter WW = 32, parameter RW = 32, parameter WDEPTH = 16, parameter FWFT = 0) (
	input wire wr_clk, input wire rd_clk, input wire rst,
	input wire [WW-1:0] din, input wire wr_en, output wire full, output reg wr_ack,
	input wire rd_en, output reg [RW-1:0] dout, output wire empty, output reg valid
	);
localparam R = WW / RW;              // read words per written word
localparam RDEPTH = WDEPTH * R;
reg [RW-1:0] mem [0:RDEPTH-1];
integer wptr, rptr;                   // in read words, counting up without wrap
integer rptr_w1, rptr_w2, wptr_r1, wptr_r2;
integer k;
initial begin
	wptr = 0; rptr = 0; rptr_w1 = 0; rptr_w2 = 0; wptr_r1 = 0; wptr_r2 = 0; wr_ack = 0; dout = 0; valid = 0;
end
assign full = (wptr - rptr_w2) > RDEPTH - R;
wire have = wptr_r2 > rptr;
always @(posedge wr_clk or posedge rst) begin
	if (rst) begin
		wptr <= 0; wr_ack <= 0; rptr_w1 <= 0; rptr_w2 <= 0;
	end else begin
		rptr_w1 <= rptr; rptr_w2 <= rptr_w1;
		wr_ack <= 0;
		if (wr_en && !full) begin
			for (k = 0; k < R; k = k + 1) mem[(wptr + k) % RDEPTH] <= din[(R-1-k)*RW +: RW];
			wptr <= wptr + R;
			wr_ack <= 1;
		end
	end
end
generate if (FWFT) begin: g_fwft
	assign empty = !have;
	always @(*) begin
		valid = have;
		dout = have ? mem[rptr % RDEPTH] : {RW{1'b0}};
	end
	always @(posedge rd_clk or posedge rst) begin
		if (rst) begin
			rptr <= 0; wptr_r1 <= 0; wptr_r2 <= 0;
		end else begin
			wptr_r1 <= wptr; wptr_r2 <= wptr_r1;
			if (rd_en && have) rptr <= rptr + 1;
		end
	end
end else begin: g_std
	assign empty = !have;
	always @(posedge rd_clk or posedge rst) begin
		if (rst) begin
			rptr <= 0; wptr_r1 <= 0; wptr_r2 <= 0; valid <= 0; dout <= 0;
		end else begin
			wptr_r1 <= wptr; wptr_r2 <= wptr_r1;
			valid <= 0;
			if (rd_en && have) begin
				dout <= mem[rptr % RDEPTH];
				rptr <= rptr + 1;
				valid <= 1;
			end
		end
	end
end endgenerate
endmodule

`define RTL_FIFO(NAME, W_IN, W_OUT, DEPTH, FW) \
module NAME(input wire wr_clk, input wire rd_clk, input wire rst, input wire [W_IN-1:0] din, input wire wr_en, \
	output wire full, output wire wr_ack, input wire rd_en, output wire [W_OUT-1:0] dout, output wire empty, output wire valid); \
rtl_async_fifo #(.WW(W_IN), .RW(W_OUT), .WDEPTH(DEPTH), .FWFT(FW)) core(.wr_clk(wr_clk), .rd_clk(rd_clk), .rst(rst), \
	.din(din), .wr_en(wr_en), .full(full), .wr_ack(wr_ack), .rd_en(rd_en), .dout(dout), .empty(empty), .valid(valid)); \
endmodule

`RTL_FIFO(FIFO32x16, 32, 32, 16, 0)
`RTL_FIFO(FIFO32x32, 32, 32, 32, 0)
`RTL_FIFO(FIFO32x64FWFT, 32, 32, 64, 1)
`RTL_FIFO(FIFO32x256, 32, 32, 256, 0)
`RTL_FIFO(FIFO32x2048FWFT, 32, 32, 2048, 1)
`RTL_FIFO(FIFO32x4096, 32, 32, 4096, 0)
`RTL_FIFO(FIFO256x64_32x512, 256, 32, 64, 0)
