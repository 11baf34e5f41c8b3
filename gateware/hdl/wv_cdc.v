`timescale 1ns / 1ps
// neurram-lab gateware: clock-domain helpers of the write-verify engine (written here, no vendor code).
//
// wv_pulse_cdc: a one-cycle request in the source clock becomes exactly one cycle of `pulse` in the
// destination clock (toggle + three-flop synchroniser), whatever the ratio of the two clocks. The authors'
// design takes its triggers in the clock of the module they start (neurram_top.v: ti41 in dac_clk, ti43 in
// adc_rram_clk, ti44 in spi_ctrl_clk); the engine hands its triggers over the same way.
// wv_level_sync: a level from another clock, two flops into this one.

module wv_pulse_cdc(
	input wire src_clk,
	input wire rst,
	input wire req,
	input wire dst_clk,
	output reg pulse
	);
reg tog;
reg [2:0] sync;
always @(posedge src_clk or posedge rst) begin
	if (rst) tog <= 1'b0;
	else if (req) tog <= ~tog;
end
always @(posedge dst_clk or posedge rst) begin
	if (rst) begin
		sync <= 3'b000;
		pulse <= 1'b0;
	end else begin
		sync <= {sync[1:0], tog};
		pulse <= sync[2] ^ sync[1];
	end
end
endmodule

module wv_level_sync #(parameter W = 1) (
	input wire clk,
	input wire rst,
	input wire [W-1:0] d,
	output reg [W-1:0] q
	);
reg [W-1:0] m;
always @(posedge clk or posedge rst) begin
	if (rst) begin
		m <= {W{1'b0}};
		q <= {W{1'b0}};
	end else begin
		m <= d;
		q <= m;
	end
end
endmodule
