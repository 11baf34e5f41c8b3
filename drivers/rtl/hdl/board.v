`timescale 1ns / 1ps
// neurram-lab: the test board around the FPGA, on the pins of the authors' top level ``neurram_top``.
//
// - the 100 MHz differential oscillator (sys_clkp/sys_clkn);
// - four daisy-chained 8-channel 16-bit DACs on dac_cs_b/dac_sck/dac_sdi, decoded as the LTC2656-style
//   part the host code writes to: a 32-bit frame per DAC (8 don't-care bits, command[23:20],
//   address[19:16], code[15:0]), MSB first, sampled on SCK rising while CS is low; at CS rising every DAC
//   executes the frame it holds, DAC 0 the last frame shifted (the one nearest the FPGA). Commands:
//   0000 write input n, 0001 update n, 0010 write n / update all, 0011 write and update n, 0100 power down
//   n, 1111 no operation; address 1111 = every channel;
// - the cell-read ADC on adc_rram_cnv/adc_rram_sck/adc_rram_sdo: CNV rising samples the TIA integrator,
//   SDO then shows one leading (busy indicator) bit and each SCK falling edge shifts out the next bit of
//   the 18-bit code, MSB first. The integrator starts at adc_v0_v when the read voltage reaches the cell
//   (wupdate_pulse high with vupdate_config = 11) and falls at adc_i_a / C; the host side sets both;
// - the chip's digital side: row/column register writes (reg_config = 10 and an SPI clock edge), clears,
//   the core-enable chain, the program pulse (wupdate_pulse) and its width, logged as events;
// - the chip's scan chains: per core row two 3072-bit chains (lane 0 on shift2chip[2r], the -1 drivers; lane
//   1 on shift2chip[2r+1], the +1 drivers), twelve 256-line registers H0 V0 H1 V1 ... H5 V5 of the row's six
//   cores, clocked by the row's SPI clock pair (row 0 spi_clock_0, rows 1-3 spi_clock_1_3, rows 4-7
//   spi_clock_4_7: shared pins, so rows of a group shift together), lane k on clock bit k. reg_config = x1
//   shifts, forward (reg_config[1]) in at H0 line 0 and out at V5 line 255 on shift2ok, backward in at V5
//   line 255 and out at H0 line 0; reg_config = 00 with a clock edge is the neurons' comparator write into
//   each core's output register (H when reg_write_enable_horz, V when vert) of that lane; the clears zero
//   the H / V registers. The comparator bits come from the host side (the twin): at the first write after
//   a sample burst (trigger_in pulses) conv_req toggles and the bench loads cmp_sign / cmp_flip / cmp_valid;
//   neuron n of a valid core reads cmp_sign until its cmp_flip-th write since then, the opposite after.
//   At each burst's first trigger_in pulse smp_tog toggles (the bench reads the chains then).
// - the chip's LFSR chains (lfsrhorz_clk, lfsrhorz_set_b, lfsr_out) and the LFSR pulse (lfsrpulse, lfsr_mode,
//   sw_in_sample, sw_integ): the host side (the twin's LFSR pairs) owns the chains' state. At each LFSR shift
//   trigger the design receives (dut.lfsr_shift_trigger, neurram_top.v:613) lfsr_req toggles and the bench
//   loads the next 512 bits each chain will put on lfsr_out (lfsr_a_bits / lfsr_b_bits, bit k after k
//   clocks); each lfsrhorz_clk rising edge moves to the next bit, and their count is logged when the FSM
//   goes on to its pipe-out FIFO; lfsrhorz_set_b falling (the active-low set) is logged. An LFSR pulse is logged when lfsr_mode falls: the time sw_in_sample was high
//   with lfsr_mode (the neurons sampling VPLFSR / VNLFSR), the sw_integ pulses in that window (the neuron
//   FSM's integration) and whether inference_mode was high in it.
// The event log (ev_a, ev_t) is what the simulation host reads after each FrontPanel call: ev_a[63:60] the
// kind, its fields packed from bit 0 up (the layouts: drivers/rtl/_board_side.py), ev_t the time in ps.

module rtl_tb;
reg sys_clkp = 0;
wire sys_clkn = ~sys_clkp;
always #5 sys_clkp = ~sys_clkp;
wire [4:0] okUH = 5'd0;
wire [2:0] okHU;
wire [31:0] okUHU;
wire okAA;
wire [15:0] shift2ok;
wire [1:0] lfsr_out;
reg adc_rram_sdo = 0;
wire [7:0] addr_local;
wire clear_horz_b;
wire clear_vert_b;
wire dec_enable_horz;
wire dec_enable_vert;
wire enable_ota;
wire ext_1n;
wire ext_1n_bl_sel;
wire ext_1n_sl_sel;
wire ext_3n;
wire ext_3n_bl_sel;
wire ext_3n_sl_sel;
wire ext_inference_enable_bl;
wire ext_inference_enable_sl;
wire ext_precharge_bl;
wire ext_precharge_sl;
wire ext_turn_on_wl;
wire forward;
wire ifat_mode;
wire inference_mode;
wire latch_en;
wire lfsr_mode;
wire lfsrhorz_clk;
wire lfsrpulse;
wire reg_controlled_wl;
wire reg_write_enable_horz;
wire reg_write_enable_vert;
wire register_mode;
wire [1:0] select_write_reg;
wire sw_cds;
wire sw_cds_vref;
wire sw_feedback;
wire sw_in_sample;
wire sw_integ;
wire sw_ota_loop;
wire trigger_in;
wire turn_off_precharge;
wire [1:0] vcomp_config;
wire [1:0] vlevel1_config;
wire [1:0] vlevel2_config;
wire [1:0] vupdate_config;
wire [1:0] wupdate_clk;
wire wupdate_mode;
wire wupdate_pulse;
wire lfsrhorz_set_b;
wire [1:0] reg_config;
wire [1:0] spi_clock_0;
wire [1:0] spi_clock_1_3;
wire [1:0] spi_clock_4_7;
wire [2:0] addr_horz;
wire [2:0] addr_vert;
wire core_enable_clk;
wire core_enable_in;
wire core_enable_reset_b;
wire [15:0] shift2chip;
wire [1:0] dmux_oe_b;
wire adc_rram_sck;
wire adc_rram_cnv;
wire sel_tia;
wire sel_vfb;
wire sel_spare;
wire dac_cs_b;
wire dac_sck;
wire dac_sdi;

neurram_top dut(
	.okUH(okUH),
	.okHU(okHU),
	.okUHU(okUHU),
	.okAA(okAA),
	.sys_clkn(sys_clkn),
	.sys_clkp(sys_clkp),
	.addr_local(addr_local),
	.clear_horz_b(clear_horz_b),
	.clear_vert_b(clear_vert_b),
	.dec_enable_horz(dec_enable_horz),
	.dec_enable_vert(dec_enable_vert),
	.enable_ota(enable_ota),
	.ext_1n(ext_1n),
	.ext_1n_bl_sel(ext_1n_bl_sel),
	.ext_1n_sl_sel(ext_1n_sl_sel),
	.ext_3n(ext_3n),
	.ext_3n_bl_sel(ext_3n_bl_sel),
	.ext_3n_sl_sel(ext_3n_sl_sel),
	.ext_inference_enable_bl(ext_inference_enable_bl),
	.ext_inference_enable_sl(ext_inference_enable_sl),
	.ext_precharge_bl(ext_precharge_bl),
	.ext_precharge_sl(ext_precharge_sl),
	.ext_turn_on_wl(ext_turn_on_wl),
	.forward(forward),
	.ifat_mode(ifat_mode),
	.inference_mode(inference_mode),
	.latch_en(latch_en),
	.lfsr_mode(lfsr_mode),
	.lfsrhorz_clk(lfsrhorz_clk),
	.lfsrpulse(lfsrpulse),
	.reg_controlled_wl(reg_controlled_wl),
	.reg_write_enable_horz(reg_write_enable_horz),
	.reg_write_enable_vert(reg_write_enable_vert),
	.register_mode(register_mode),
	.select_write_reg(select_write_reg),
	.sw_cds(sw_cds),
	.sw_cds_vref(sw_cds_vref),
	.sw_feedback(sw_feedback),
	.sw_in_sample(sw_in_sample),
	.sw_integ(sw_integ),
	.sw_ota_loop(sw_ota_loop),
	.trigger_in(trigger_in),
	.turn_off_precharge(turn_off_precharge),
	.vcomp_config(vcomp_config),
	.vlevel1_config(vlevel1_config),
	.vlevel2_config(vlevel2_config),
	.vupdate_config(vupdate_config),
	.wupdate_clk(wupdate_clk),
	.wupdate_mode(wupdate_mode),
	.wupdate_pulse(wupdate_pulse),
	.lfsrhorz_set_b(lfsrhorz_set_b),
	.reg_config(reg_config),
	.spi_clock_0(spi_clock_0),
	.spi_clock_1_3(spi_clock_1_3),
	.spi_clock_4_7(spi_clock_4_7),
	.addr_horz(addr_horz),
	.addr_vert(addr_vert),
	.core_enable_clk(core_enable_clk),
	.core_enable_in(core_enable_in),
	.core_enable_reset_b(core_enable_reset_b),
	.shift2chip(shift2chip),
	.shift2ok(shift2ok),
	.lfsr_out(lfsr_out),
	.dmux_oe_b(dmux_oe_b),
	.adc_rram_sck(adc_rram_sck),
	.adc_rram_cnv(adc_rram_cnv),
	.adc_rram_sdo(adc_rram_sdo),
	.sel_tia(sel_tia),
	.sel_vfb(sel_vfb),
	.sel_spare(sel_spare),
	.dac_cs_b(dac_cs_b),
	.dac_sck(dac_sck),
	.dac_sdi(dac_sdi)
	);

// FPGA configuration: flip-flops start at 0 (the global set/reset of a configured Xilinx part)
initial dut.clk_cnt = 0;

// ------------------------------------------------------------------- event log
localparam EV_DAC = 1, EV_REG = 2, EV_CLEAR = 3, EV_CE_CLK = 4, EV_CE_RESET = 5, EV_PULSE = 6, EV_ADC = 7;
reg [63:0] ev_a [0:4095];
reg [63:0] ev_t [0:4095];   // time of the event (ps)
reg [31:0] ev_n = 0;        // events so far (index = ev_n % 4096)
task log_event(input [63:0] a);
	begin
		ev_a[ev_n % 4096] = a;
		ev_t[ev_n % 4096] = $realtime * 1000.0;
		ev_n = ev_n + 1;
	end
endtask
task log_event_at(input [63:0] a, input real t_ns);  // an event dated t_ns (a sample burst: its start)
	begin
		ev_a[ev_n % 4096] = a;
		ev_t[ev_n % 4096] = t_ns * 1000.0;
		ev_n = ev_n + 1;
	end
endtask

// ------------------------------------------------------------------- DACs
reg [127:0] dac_sr = 0;
reg [7:0] dac_bits = 0;          // SCK edges of the present frame
reg [15:0] dac_in [0:31];
reg [15:0] dac_out [0:31];       // [dac * 8 + channel]
reg [31:0] dac_frames = 0;
reg dac_mid_word = 0;            // a 32-bit word is part-way through the chain (the bench holds triggers then)
integer d, c;
initial for (d = 0; d < 32; d = d + 1) begin dac_in[d] = 0; dac_out[d] = 0; end
always @(negedge dac_cs_b) begin dac_bits = 0; log_event({4'd9, 60'd0}); end
// DAC clocks the FSM of dac_daisy_control.v works (its states read, the authors' file unchanged): every
// state but IDLE on an empty FIFO and SHIFT_DONE waiting for the host's next word or update
// (dac_daisy_control.v:160, :200-202); logged with the frame (bits 39:8), cleared at each frame's end
reg [31:0] dac_busy_clk = 0;
always @(posedge dut.dac_clk)
	if (dut.dac_ctrl.dac_state == 2'b00 ? !dut.dac_ctrl.fifo_empty :
	    !(dut.dac_ctrl.dac_state == 2'b11 && dut.dac_ctrl.fifo_empty && !dut.dac_ctrl.update))
		dac_busy_clk = dac_busy_clk + 1;
always @(posedge dac_sck) if (!dac_cs_b) begin
	dac_sr = {dac_sr[126:0], dac_sdi};
	dac_bits = dac_bits + 1;
	dac_mid_word = dac_bits[4:0] != 5'd0;
end
always @(posedge dac_cs_b) dac_mid_word = 0;
always @(posedge dac_cs_b) if (dac_bits != 0) begin : dac_exec
	reg [31:0] w;
	reg [3:0] cmd, adr;
	dac_frames = dac_frames + 1;
	for (d = 0; d < 4; d = d + 1) begin
		w = dac_sr[d*32 +: 32];
		cmd = w[23:20];
		adr = w[19:16];
		for (c = 0; c < 8; c = c + 1) if (adr == c || adr == 4'hF) begin
			case (cmd)
				4'b0000: dac_in[d*8+c] = w[15:0];
				4'b0001: begin dac_out[d*8+c] = dac_in[d*8+c]; log_event({4'd1, 34'd0, d[1:0], c[3:0], cmd, dac_out[d*8+c]}); end
				4'b0011: begin dac_in[d*8+c] = w[15:0]; dac_out[d*8+c] = w[15:0];
				               log_event({4'd1, 34'd0, d[1:0], c[3:0], cmd, w[15:0]}); end
				4'b0010: dac_in[d*8+c] = w[15:0];
				4'b0100: begin dac_out[d*8+c] = 0; log_event({4'd1, 34'd0, d[1:0], c[3:0], cmd, 16'd0}); end
				default: ;
			endcase
		end
		if (cmd == 4'b0010) for (c = 0; c < 8; c = c + 1) begin
			dac_out[d*8+c] = dac_in[d*8+c];
			log_event({4'd1, 34'd0, d[1:0], c[3:0], cmd, dac_out[d*8+c]});
		end
	end
	// a frame count other than 128 bits still lands where the shift register puts it
	log_event({4'd8, 20'd0, dac_busy_clk, dac_bits});
	dac_busy_clk = 0;
end

// ------------------------------------------------------------------- ADC
real adc_i_a = 0.0;     // current out of the integrator node (A), set by the host side before a read
real adc_v0_v = 0.9;    // integrator start (V): the TIA reference
real adc_c_f = 1.0e-9;  // integrating capacitor (F)
real t_on_ns = 0.0;
reg integrating = 0;
reg [17:0] adc_code = 0;
reg [4:0] adc_bit = 0;
reg [31:0] adc_conversions = 0;
reg read_on = 0;        // toggles when the read voltage reaches the cell: the host side sets adc_i_a then
always @(posedge wupdate_pulse) if (vupdate_config == 2'b11) begin integrating = 1; t_on_ns = $realtime; read_on = ~read_on; end
always @(negedge wupdate_pulse) integrating = 0;
always @(posedge adc_rram_cnv) begin : adc_sample
	real v;
	v = integrating ? adc_v0_v - adc_i_a * ($realtime - t_on_ns) * 1.0e-9 / adc_c_f : adc_v0_v;
	v = v * 262144.0 / 2.048;
	adc_code = v <= 0.0 ? 18'd0 : v >= 262143.0 ? 18'h3FFFF : $rtoi(v);
	adc_bit = 0;
	adc_rram_sdo = 1'b1;      // busy indicator bit, then the code
	adc_conversions = adc_conversions + 1;
	log_event({4'd7, 42'd0, adc_code});
end
always @(negedge adc_rram_sck) if (adc_rram_cnv) begin
	adc_rram_sdo = adc_bit < 18 ? adc_code[17 - adc_bit] : 1'b0;
	adc_bit = adc_bit + 1;
end

// ------------------------------------------------------------------- chip: registers, core enable, pulses
wire any_spi_clk = spi_clock_0[0] | spi_clock_0[1] | spi_clock_1_3[0] | spi_clock_1_3[1] | spi_clock_4_7[0] | spi_clock_4_7[1];
always @(posedge any_spi_clk) if (reg_config == 2'b10)
	log_event({4'd2, 42'd0, reg_write_enable_vert, reg_write_enable_horz, addr_horz, addr_vert, select_write_reg, addr_local});
always @(negedge clear_horz_b or negedge clear_vert_b)
	log_event({4'd3, 58'd0, ~clear_vert_b, ~clear_horz_b});
always @(posedge core_enable_clk) if (core_enable_reset_b)
	log_event({4'd4, 51'd0, core_enable_in, dec_enable_vert, dec_enable_horz, addr_horz, addr_vert});
always @(negedge core_enable_reset_b) log_event({4'd5, 60'd0});
real pulse_t0_ns = 0.0;
reg [1:0] pulse_cfg = 0;
reg [31:0] pulses = 0;
always @(posedge wupdate_pulse) begin pulse_t0_ns = $realtime; pulse_cfg = vupdate_config; end
always @(negedge wupdate_pulse) begin : pulse_end
	reg [39:0] w_ps;
	w_ps = ($realtime - pulse_t0_ns) * 1000.0;
	pulses = pulses + 1;
	log_event({4'd6, 17'd0, pulse_cfg, wupdate_mode, w_ps});
end

// ------------------------------------------------------------------- chip: scan chains, neurons
reg [3071:0] ch0 [0:7];    // lane 0 per core row: bit reg * 256 + line, reg 0..11 = H0 V0 ... H5 V5
reg [3071:0] ch1 [0:7];
reg [15:0] so2ok = 0;
assign shift2ok = so2ok;
reg [255:0] cmp_sign [0:47];
reg [1791:0] cmp_flip [0:47]; // 7 bits a neuron: the write at which its comparator flips (>= 101: never)
reg [47:0] cmp_valid = 0;
reg [7:0] cmp_n = 0;       // comparator writes since the last conversion
reg conv_req = 0;
reg smp_since = 0;         // a sample burst since the last conversion
reg smp_open = 0;
reg smp_tog = 0;
reg [15:0] smp_pulses = 0;
reg [15:0] smp_idx = 0;
real smp_t0_ns = 0.0;      // the open burst's first trigger_in pulse (its event is dated then)
reg [4:0] smp_pins = 0;    // at the burst's start: inference_mode, forward, ext_1n, ext_1n_bl_sel, ext_1n_sl_sel
reg [31:0] neuron_writes = 0;
localparam EV_SAMPLE = 10, EV_NWRITE = 11;
integer ri, ci, li;
initial for (ri = 0; ri < 8; ri = ri + 1) begin ch0[ri] = 0; ch1[ri] = 0; end
initial for (ci = 0; ci < 48; ci = ci + 1) begin cmp_sign[ci] = 0; cmp_flip[ci] = {256{7'h7F}}; end
task chain_out;
	for (ri = 0; ri < 8; ri = ri + 1) begin
		so2ok[2*ri] = reg_config[1] ? ch0[ri][3071] : ch0[ri][0];
		so2ok[2*ri+1] = reg_config[1] ? ch1[ri][3071] : ch1[ri][0];
	end
endtask
always @(reg_config) chain_out;
task close_burst;
	if (smp_open) begin
		smp_open = 0;
		log_event_at({4'd10, 23'd0, smp_pins, smp_idx, smp_pulses}, smp_t0_ns);
		smp_idx = smp_idx + 1;
	end
endtask
always @(posedge trigger_in) begin
	if (!smp_open) begin
		smp_open = 1;
		smp_since = 1;
		smp_pulses = 0;
		smp_pins = {inference_mode, forward, ext_1n, ext_1n_bl_sel, ext_1n_sl_sel};
		smp_t0_ns = $realtime;
		smp_tog = ~smp_tog;
	end
	smp_pulses = smp_pulses + 1;
end
// one comparator write (lane ln) into the output registers of the cores of rows lo..hi
task neuron_write(input integer lo, input integer hi, input integer ln);
	reg [255:0] bits;
	integer cc, rr, pos;
	for (rr = lo; rr <= hi; rr = rr + 1) for (cc = 0; cc < 6; cc = cc + 1) begin
		bits = 0;
		if (cmp_valid[rr*6+cc]) for (li = 0; li < 256; li = li + 1)
			bits[li] = (cmp_n < cmp_flip[rr*6+cc][li*7 +: 7]) ? cmp_sign[rr*6+cc][li] : ~cmp_sign[rr*6+cc][li];
		for (pos = 2*cc; pos <= 2*cc + 1; pos = pos + 1)
			if ((pos == 2*cc) ? reg_write_enable_horz : reg_write_enable_vert) begin
				if (ln == 0) ch0[rr][pos*256 +: 256] = bits;
				else ch1[rr][pos*256 +: 256] = bits;
			end
	end
endtask
task chain_clock(input integer lo, input integer hi, input integer ln);
	for (ri = lo; ri <= hi; ri = ri + 1)
		if (reg_config[0]) begin
			if (ln == 0) ch0[ri] = reg_config[1] ? {ch0[ri][3070:0], shift2chip[2*ri]} : {shift2chip[2*ri], ch0[ri][3071:1]};
			else ch1[ri] = reg_config[1] ? {ch1[ri][3070:0], shift2chip[2*ri+1]} : {shift2chip[2*ri+1], ch1[ri][3071:1]};
		end else if (reg_config == 2'b00)
			neuron_write(ri, ri, ln);
endtask
reg [1:0] pc0 = 0, pc13 = 0, pc47 = 0;
always @(spi_clock_0 or spi_clock_1_3 or spi_clock_4_7) begin : chip_clk
	reg [1:0] r0, r13, r47;
	integer k;
	r0 = spi_clock_0 & ~pc0;
	r13 = spi_clock_1_3 & ~pc13;
	r47 = spi_clock_4_7 & ~pc47;
	pc0 = spi_clock_0; pc13 = spi_clock_1_3; pc47 = spi_clock_4_7;
	if (r0 | r13 | r47) begin
		close_burst;
		if (reg_config == 2'b00) begin
			if (smp_since) begin  // the bench converts what was sampled (the twin) before the first write
				smp_since = 0;
				cmp_n = 0;
				conv_req = ~conv_req;
				#1;
			end
			neuron_writes = neuron_writes + 1;
		end
		for (k = 0; k < 2; k = k + 1) begin
			if (r0[k]) chain_clock(0, 0, k);
			if (r13[k]) chain_clock(1, 3, k);
			if (r47[k]) chain_clock(4, 7, k);
		end
		if (reg_config == 2'b00 && cmp_n != 8'hFF) cmp_n = cmp_n + 1;
		chain_out;
	end
end
always @(negedge clear_horz_b or negedge clear_vert_b) begin : chain_clear
	integer cc;
	close_burst;
	for (ri = 0; ri < 8; ri = ri + 1) for (cc = 0; cc < 6; cc = cc + 1) begin
		if (!clear_horz_b) begin ch0[ri][2*cc*256 +: 256] = 0; ch1[ri][2*cc*256 +: 256] = 0; end
		if (!clear_vert_b) begin ch0[ri][(2*cc+1)*256 +: 256] = 0; ch1[ri][(2*cc+1)*256 +: 256] = 0; end
	end
	chain_out;
end
// ------------------------------------------------------------------- chip: LFSR chains and the LFSR pulse
localparam EV_LFSR_PULSE = 12, EV_LFSR_SET = 13, EV_LFSR_CLK = 14;
reg [511:0] lfsr_a_bits = 0, lfsr_b_bits = 0;   // from the host side at each shift trigger
reg [9:0] lfsr_k = 0;
reg lfsr_req = 0;
assign lfsr_out = {lfsr_b_bits[lfsr_k], lfsr_a_bits[lfsr_k]};
always @(posedge dut.lfsr_shift_trigger) begin lfsr_k = 0; lfsr_req = ~lfsr_req; end
reg [9:0] lfsr_clks = 0;   // lfsrhorz_clk rising edges of the present shift
always @(posedge lfsrhorz_clk) begin
	if (lfsr_k != 10'd511) lfsr_k = lfsr_k + 1;
	lfsr_clks = lfsr_clks + 1;
end
// the shift's end: lfsr_control.v's FSM starts writing the pipe-out FIFO (STATE_PIPE_OUT, :153-171)
always @(posedge dut.lfsr.out_fifo_wr_en) begin log_event({4'd14, 50'd0, lfsr_clks}); lfsr_clks = 0; end
always @(negedge lfsrhorz_set_b) log_event({4'd13, 60'd0});
real lfsr_smp_t0_ns = 0.0;
reg [39:0] lfsr_smp_ps = 0;
reg [7:0] lfsr_integs = 0;
reg lfsr_inf_seen = 0;
always @(posedge lfsr_mode) begin lfsr_smp_ps = 0; lfsr_integs = 0; lfsr_inf_seen = inference_mode; end
always @(posedge inference_mode) if (lfsr_mode) lfsr_inf_seen = 1;
always @(posedge sw_in_sample) if (lfsr_mode) lfsr_smp_t0_ns = $realtime;
always @(negedge sw_in_sample) if (lfsr_mode) lfsr_smp_ps = lfsr_smp_ps + ($realtime - lfsr_smp_t0_ns) * 1000.0;
always @(posedge sw_integ) if (lfsr_mode && lfsr_integs != 8'hFF) lfsr_integs = lfsr_integs + 1;
always @(negedge lfsr_mode) log_event({4'd12, 11'd0, lfsr_inf_seen, lfsr_integs, lfsr_smp_ps});

// FPGA clocks (100 MHz) the MVM blocks work, for the board-time check: the bit-serial cycles
// (matmul_unsigned_helper busy) and the multi-level readout (neuron_multi_level_output busy)
reg [31:0] mvm_cycle_clk = 0, readout_clk = 0;
always @(posedge sys_clkp) begin
	if (dut.matmul_unsigned_idle === 1'b0) mvm_cycle_clk = mvm_cycle_clk + 1;
	if (dut.ml_read_idle === 1'b0) readout_clk = readout_clk + 1;
end
// the wire-ins those blocks run on (0x09 neuron, 0x0D SPI, 0x0E bit-serial, 0x0F readout, 0x10 timing)
wire [31:0] wi09 = dut.ep09wire, wi0D = dut.ep0Dwire, wi0E = dut.ep0Ewire, wi0F = dut.ep0Fwire, wi10 = dut.ep10wire;
// the FPGA's output masks (neuron_multi_level_output.v y_addr): the bench converts the neurons they enable
wire [383:0] y_addr0 = dut.gen_nmlo[0].nmlo.y_addr;
wire [383:0] y_addr1 = dut.gen_nmlo[1].nmlo.y_addr;
wire [383:0] y_addr2 = dut.gen_nmlo[2].nmlo.y_addr;
wire [383:0] y_addr3 = dut.gen_nmlo[3].nmlo.y_addr;
wire [383:0] y_addr4 = dut.gen_nmlo[4].nmlo.y_addr;
wire [383:0] y_addr5 = dut.gen_nmlo[5].nmlo.y_addr;
wire [383:0] y_addr6 = dut.gen_nmlo[6].nmlo.y_addr;
wire [383:0] y_addr7 = dut.gen_nmlo[7].nmlo.y_addr;
endmodule
