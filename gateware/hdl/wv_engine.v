`timescale 1ns / 1ps
// neurram-lab gateware: write-verify engine for the NeuRRAM test board (written in this project).
//
// The engine closes the write-verify loop on the FPGA. It does not copy any of the authors' logic: it drives
// the authors' own instances inside neurram_top (the DAC daisy chain dac_daisy_control, the auto-ranging
// cell read auto_ranging + resistance_read, the pulse control neurram_wupdate_control, the register control
// neurram_reg_control and the core-enable / address pins) through the same nets the host's wire-ins and
// triggers drive, while it owns them (`own`). gateware/patch.py makes the authors' top level hand those nets
// over (neurram_top_wv).
//
// Host interface (all in gateware/README.md):
//   command FIFO (first-word fall-through, 32-bit words, okPipeIn 0x82), op in [31:28]:
//     0 NOP
//     1 LEVEL  [3:0] level L; the next 8 words are level L's settings (per-level window and sweep):
//              w0 window low read code [23:0]      w1 window high read code [23:0]
//              w2 SET start code [15:0], SET ceiling code [31:16]       (DAC 3 channel 0, VSET_BL)
//              w3 RESET start code [15:0], RESET ceiling code [31:16]   (DAC 3 channel 2, VRESET_SL)
//              w4 SET gate code [15:0] (ch 1, VSET_WL), RESET gate code [31:16] (ch 3, VRESET_WL)
//              w5 step code [15:0], pulse width in 10 ns ticks [31:16]
//              w6 max pulses [15:0], max reversals [23:16], max pulses at the ceiling [31:24]
//              w7 first read timing: t_shld [15:0], t_delta [31:16] (units of 1.28 us, as wire-in 0x02)
//     2 CELL   level [27:24], core [23:18], row [15:8], col [7:0]
//     3 RANGE  as CELL (the first cell); the next word: last row [15:8], last col [7:0]; every cell of the
//              rectangle, row by row, without the host
//     15 MARK  [27:0] tag: a result record (status 15) with the cells done and the busy cycles so far
//   result FIFO (okPipeOut 0xA4), four words per record:
//     r0 status [31:28], level [27:24], core [23:18], row [15:8], col [7:0]
//     r1 final read code [23:0] (for status 5: the refusal reasons, bit mask REF_*)
//     r2 pulses [15:0], reversals [31:16]
//     r3 last pulse code [15:0], the cell's time on the engine in units of 128 clocks (1.28 us) [31:16]
//     status: 1 in window, 2 gave up (more than max reversals), 3 ceiling (max pulses at the ceiling
//     without reaching the window), 4 max pulses, 5 refused, 6 fault (a step timed out, or the DAC guard
//     stopped a word), 15 mark (r1 cells done, r2/r3 busy cycles low/high)
//   read code: ((start code - end code) << 6) / t_delta of the auto-ranged read: proportional to the cell
//     current, I = code * 2.048 V / 2^18 * C_integ / (64 * 1.28 us); 0xFFFFFF when the end code is 0 (the
//     integrator reached the ADC floor: saturated, above every window). A level whose first timing has
//     t_delta <= 10 reads once, unranged (auto_ranging.v ranges only while 10 < t_delta < 30000): the
//     host's fast reads; a window 0..0xFFFFFF is met at the first read (a read-only job, no pulse).
//   ceilings (wire-ins 0x18-0x1A, latched at start): no job runs whose codes exceed them, and the guard
//     (wv_dac_guard) stops any DAC word above them in hardware.
//   start / abort / clear (trigger-in 0x46 bits 0/1/2, sys_clk).

module wv_engine #(
	parameter N_CORES = 48,
	parameter WD_BITS = 24,      // watchdog: a step that waits 2^WD_BITS clocks (168 ms) is a fault
	parameter STEP_WAIT = 16,    // clocks each pin step is held (chip address, core enable, clears)
	parameter RA_WAIT = 48,      // clocks after a random-access trigger (sync + 2 spi_ctrl_clk cycles)
	parameter DAC_TAIL = 560     // clocks after the DAC FIFO runs empty before the update: the last word's
	                             // 32 bits shift out first (dac_clk = sys/16), or the update is lost
	) (
	input wire clk,              // sys_clk, 100 MHz
	input wire rst,
	input wire dac_clk,
	input wire adc_clk,
	input wire spi_clk,

	// host: ceilings and control
	input wire [31:0] wi_lim_set,    // [15:0] SET BL ceiling, [31:16] SET WL ceiling
	input wire [31:0] wi_lim_reset,  // [15:0] RESET SL ceiling, [31:16] RESET WL ceiling
	input wire [31:0] wi_lim_width,  // [23:0] pulse width ceiling (ticks)
	input wire start,
	input wire abort,
	input wire clear,

	// command FIFO (FWFT read side) and result FIFO (write side)
	input wire [31:0] cmd_dout,
	input wire cmd_empty,
	output reg cmd_rd_en,
	output reg [31:0] res_din,
	output reg res_wr_en,
	input wire res_full,

	// the authors' DAC chain
	output reg [31:0] dac_din,
	output wire dac_program,
	output wire dac_update,      // dac_clk domain
	input wire dac_fifo_full,
	input wire dac_fifo_ack,
	input wire dac_fifo_empty,   // dac_clk domain
	input wire dac_state_idle,   // dac_clk domain

	// the authors' auto-ranging read (adc_rram_clk domain)
	output wire ar_trigger,
	output wire ar_ack,
	output reg [15:0] t_shld_init,
	output reg [15:0] t_delta_init,
	input wire ar_valid,
	input wire [17:0] ar_dout1,
	input wire [17:0] ar_dout2,
	input wire [15:0] ar_t_shld,
	input wire [15:0] ar_t_delta,

	// the authors' pulse control (sys_clk)
	output reg program_trigger,
	output reg program_ack,
	output reg [31:0] pulse_width,
	output reg [1:0] vupdate_config,
	input wire program_done,

	// chip addressing
	output reg clear_regs,
	output reg [7:0] addr_local,
	output reg [1:0] select_write_reg,
	output reg ra_vert,
	output wire ra_trigger,      // spi_ctrl_clk domain
	output reg [2:0] addr_horz,
	output reg [2:0] addr_vert,
	output reg dec_enable_horz,
	output reg dec_enable_vert,
	output reg ce_clk,
	output reg ce_in,
	output reg ce_reset,

	// diagnostics
	output wire own,
	output wire [31:0] diag_status,
	output reg [31:0] diag_cells,
	output reg [31:0] diag_pulses,
	output wire [31:0] diag_cell,
	output wire [31:0] diag_dac
	);

localparam [1:0] MUX_IDLE = 2'b00, MUX_RESET = 2'b01, MUX_SET = 2'b10, MUX_READ = 2'b11;
localparam [31:0] NOP_WORD = 32'h00F00000;
localparam [23:0] READ_SATURATED = 24'hFFFFFF;  // read code of a saturated read (end code 0)
localparam [3:0] ST_OK = 4'd1, ST_GAVE_UP = 4'd2, ST_CEILING = 4'd3, ST_MAX_PULSES = 4'd4, ST_REFUSED = 4'd5,
                 ST_FAULT = 4'd6, ST_MARK = 4'd15;
// refusal reasons (r1 of a refused record)
localparam REF_CORE = 0, REF_LEVEL = 1, REF_WINDOW = 2, REF_SET_ORDER = 3, REF_RESET_ORDER = 4, REF_SET_CEIL = 5,
           REF_RESET_CEIL = 6, REF_SET_GATE = 7, REF_RESET_GATE = 8, REF_WIDTH = 9, REF_WIDTH_CEIL = 10,
           REF_PULSES = 11, REF_RANGE = 12, REF_OP = 13;

// ------------------------------------------------------------------ states
localparam [5:0]
	S_IDLE = 0, S_FETCH = 1, S_LVL = 2, S_RANGE2 = 3, S_JOB = 4, S_CHECK = 5, S_CELL = 6, S_READ = 7,
	S_DECIDE = 8, S_AMP = 9, S_GATE = 10, S_PULSE = 11, S_RES = 12, S_NEXT = 13, S_HALT = 14, S_MARK = 15,
	// select
	S_CE0 = 16, S_CE1 = 17, S_CE2 = 18, S_CE3 = 19, S_CE4 = 20, S_SEL0 = 21, S_SEL1 = 22, S_SEL2 = 23,
	S_SEL3 = 24, S_SEL4 = 25, S_SEL5 = 26,
	// DAC group
	S_D0 = 27, S_D1 = 28, S_D2 = 29, S_D3 = 30, S_D4 = 31, S_D5 = 32,
	// read
	S_R0 = 33, S_R1 = 34, S_R2 = 35, S_R3 = 36, S_R4 = 37, S_R5 = 38,
	// pulse
	S_P0 = 39, S_P1 = 40, S_P2 = 41, S_P3 = 42, S_P4 = 43,
	S_WAIT = 44, S_FAULT = 45, S_D6 = 46, S_D7 = 47;

reg [5:0] st, ret, after_wait, st_prev, fault_at;
reg [19:0] wt;
reg [WD_BITS-1:0] wd;

// ceilings latched at start
reg [15:0] lim_set_bl, lim_set_wl, lim_reset_sl, lim_reset_wl;
reg [23:0] lim_width;

// level table: 16 levels x 8 words
reg [31:0] lvl_mem [0:127];
reg [15:0] lvl_valid;
reg [3:0] lvl_idx;
reg [2:0] lvl_k;
reg [3:0] lvl_rd;
wire [31:0] lvl_word = lvl_mem[{j_level, lvl_rd[2:0]}];  // one read port: the table maps to LUT RAM

// job
reg [3:0] j_level;
reg [5:0] j_core;
reg [7:0] j_row, j_col, j_row0, j_col0, j_row1, j_col1;
reg j_range;
reg [13:0] j_refuse;
reg [23:0] w_lo, w_hi;
reg [15:0] set_start, set_max, rst_start, rst_max, g_set, g_rst, step, width, max_pulses;
reg [7:0] max_rev, max_stall;
reg [15:0] t_shld0, t_delta0;

// cell
reg pol_set, pulsed;
reg [15:0] v, rev, npulse;
reg [7:0] stall;
reg [23:0] q;
reg [3:0] status;
reg [31:0] cell_cycles;
reg [15:0] cur_t_shld, cur_t_delta;
reg [5:0] cur_core;
reg core_known;
reg [15:0] shadow [0:3];
reg [3:0] shadow_ok;

// DAC group call
reg [1:0] d_ch;
reg [15:0] d_code;
reg [2:0] d_k;
reg [5:0] d_tries;
reg dac_push_req, dac_upd_req;
// read call
reg ar_trig_req, ar_ack_req;
reg [17:0] r_d1, r_d2;
reg [15:0] r_td;
reg [23:0] div_num;
reg [16:0] div_rem;
reg [4:0] div_n;
// select
reg ra_req;
reg [1:0] ce_k;
reg [2:0] h, vv, sh, sv;

// sticky flags / counters
reg fault, guard_trip, abort_req;
reg [15:0] refused_n;
reg [15:0] hiwater, blocked_code;
reg [47:0] busy_cycles;
reg [1:0] res_k;
reg [31:0] res_w [0:3];

// ------------------------------------------------------------ clock crossings
wire cmd_ok = !cmd_empty;
wire fifo_empty_s, dac_idle_s, ar_valid_s;
wv_level_sync #(1) s_empty(.clk(clk), .rst(rst), .d(dac_fifo_empty), .q(fifo_empty_s));
wv_level_sync #(1) s_idle(.clk(clk), .rst(rst), .d(dac_state_idle), .q(dac_idle_s));
wv_level_sync #(1) s_valid(.clk(clk), .rst(rst), .d(ar_valid), .q(ar_valid_s));
wv_pulse_cdc c_upd(.src_clk(clk), .rst(rst), .req(dac_upd_req), .dst_clk(dac_clk), .pulse(dac_update));
wv_pulse_cdc c_art(.src_clk(clk), .rst(rst), .req(ar_trig_req), .dst_clk(adc_clk), .pulse(ar_trigger));
wv_pulse_cdc c_ara(.src_clk(clk), .rst(rst), .req(ar_ack_req), .dst_clk(adc_clk), .pulse(ar_ack));
wv_pulse_cdc c_ra(.src_clk(clk), .rst(rst), .req(ra_req), .dst_clk(spi_clk), .pulse(ra_trigger));

// ------------------------------------------------------------ the hardware ceiling
wire guard_ok;
wv_dac_guard guard(.word(dac_din), .slot(d_k[1:0]), .lim_set_bl(lim_set_bl), .lim_set_wl(lim_set_wl),
                   .lim_reset_sl(lim_reset_sl), .lim_reset_wl(lim_reset_wl), .ok(guard_ok));
assign dac_program = dac_push_req & guard_ok & own;

assign own = (st != S_IDLE) && (st != S_HALT);
assign diag_status = {refused_n, 2'b00, st, 2'b00, abort_req, guard_trip, fault, res_full, cmd_empty, own};
assign diag_cell = {j_level, j_core, 2'b00, j_row, j_col};
assign diag_dac = {blocked_code, hiwater};

// core address: h = core / 6 (core * 43 >> 8 for core < 48), v = core - 6 h; decoder addresses swapped
// as the chip's wiring wants (3 -> 0, 7 -> 4, else + 1; drivers/neurram_top.py swap_addr)
wire [11:0] core_x43 = j_core * 6'd43;
wire [2:0] core_h = core_x43[10:8];
wire [2:0] core_v = j_core - core_h * 3'd6;
function [2:0] swap3(input [2:0] a);
	swap3 = (a == 3'd3) ? 3'd0 : (a == 3'd7) ? 3'd4 : a + 3'd1;
endfunction

// decision of one verify read (combinational on q and the cell state)
wire in_win = (q >= w_lo) && (q <= w_hi);
wire want_set = q < w_lo;
wire flip = pulsed && (pol_set != want_set);
wire [16:0] rev_n = rev + flip;
wire timed_out = rev_n > {9'd0, max_rev};
wire stalled = (stall >= max_stall) && !flip;
wire [15:0] vmax = want_set ? set_max : rst_max;
wire [15:0] vstart = want_set ? set_start : rst_start;
wire [16:0] v_up = v + step;
wire restart = !pulsed || flip;
wire [15:0] v_next = restart ? vstart : (v_up >= {1'b0, vmax}) ? vmax : v_up[15:0];
wire climbing = !restart && (v_next >= vmax);

// refusal reasons of the job in the level registers
wire [13:0] refuse_now;
assign refuse_now[REF_CORE] = j_core >= N_CORES;
assign refuse_now[REF_LEVEL] = !lvl_valid[j_level];
assign refuse_now[REF_WINDOW] = w_lo > w_hi;
assign refuse_now[REF_SET_ORDER] = set_start > set_max;
assign refuse_now[REF_RESET_ORDER] = rst_start > rst_max;
assign refuse_now[REF_SET_CEIL] = set_max > lim_set_bl;
assign refuse_now[REF_RESET_CEIL] = rst_max > lim_reset_sl;
assign refuse_now[REF_SET_GATE] = g_set > lim_set_wl;
assign refuse_now[REF_RESET_GATE] = g_rst > lim_reset_wl;
assign refuse_now[REF_WIDTH] = width == 16'd0;
assign refuse_now[REF_WIDTH_CEIL] = {8'd0, width} > lim_width;
assign refuse_now[REF_PULSES] = max_pulses == 16'd0;
assign refuse_now[REF_RANGE] = j_range && ((j_row1 < j_row0) || (j_col1 < j_col0));
assign refuse_now[REF_OP] = 1'b0;

task go_wait(input [19:0] n, input [5:0] nxt);
	begin
		wt <= n;
		after_wait <= nxt;
		st <= S_WAIT;
	end
endtask

task result(input [3:0] s);
	begin
		res_w[0] <= {s, j_level, j_core, 2'b00, j_row, j_col};
		res_w[1] <= (s == ST_REFUSED) ? {18'd0, j_refuse} : {8'd0, q};
		res_w[2] <= {rev_n[15:0], npulse};
		res_w[3] <= {cell_cycles[22:7] | {16{|cell_cycles[31:23]}}, v};
		res_k <= 2'd0;
		st <= S_RES;
	end
endtask

// the level table: written from the command FIFO (its own clocked block, no reset, so it maps to LUT RAM)
wire lvl_we = (st == S_LVL) && cmd_ok && !cmd_rd_en;
always @(posedge clk) if (lvl_we) lvl_mem[{lvl_idx, lvl_k}] <= cmd_dout;

integer i;
always @(posedge clk or posedge rst) begin
	if (rst) begin
		st <= S_IDLE; ret <= S_IDLE; after_wait <= S_IDLE; st_prev <= S_IDLE; fault_at <= S_IDLE; wt <= 0; wd <= 0;
		lim_set_bl <= 0; lim_set_wl <= 0; lim_reset_sl <= 0; lim_reset_wl <= 0; lim_width <= 0;
		lvl_valid <= 0; lvl_idx <= 0; lvl_k <= 0; lvl_rd <= 0;
		j_level <= 0; j_core <= 0; j_row <= 0; j_col <= 0; j_row0 <= 0; j_col0 <= 0; j_row1 <= 0; j_col1 <= 0;
		j_range <= 0; j_refuse <= 0;
		w_lo <= 0; w_hi <= 0; set_start <= 0; set_max <= 0; rst_start <= 0; rst_max <= 0; g_set <= 0; g_rst <= 0;
		step <= 0; width <= 0; max_pulses <= 0; max_rev <= 0; max_stall <= 0; t_shld0 <= 0; t_delta0 <= 0;
		pol_set <= 0; pulsed <= 0; v <= 0; rev <= 0; npulse <= 0; stall <= 0; q <= 0; status <= 0; cell_cycles <= 0;
		cur_t_shld <= 0; cur_t_delta <= 0; cur_core <= 0; core_known <= 0; shadow_ok <= 0;
		d_ch <= 0; d_code <= 0; d_k <= 0; d_tries <= 0; dac_push_req <= 0; dac_upd_req <= 0;
		ar_trig_req <= 0; ar_ack_req <= 0; r_d1 <= 0; r_d2 <= 0; r_td <= 0; div_num <= 0; div_rem <= 0; div_n <= 0;
		ra_req <= 0; ce_k <= 0; h <= 0; vv <= 0; sh <= 0; sv <= 0;
		fault <= 0; guard_trip <= 0; abort_req <= 0; refused_n <= 0; hiwater <= 0; blocked_code <= 0;
		busy_cycles <= 0; res_k <= 0; diag_cells <= 0; diag_pulses <= 0;
		cmd_rd_en <= 0; res_din <= 0; res_wr_en <= 0; dac_din <= NOP_WORD;
		t_shld_init <= 0; t_delta_init <= 0; program_trigger <= 0; program_ack <= 0; pulse_width <= 0;
		vupdate_config <= MUX_IDLE; clear_regs <= 0; addr_local <= 0; select_write_reg <= 0; ra_vert <= 0;
		addr_horz <= 0; addr_vert <= 0; dec_enable_horz <= 0; dec_enable_vert <= 0; ce_clk <= 0; ce_in <= 0;
		ce_reset <= 0;
		for (i = 0; i < 4; i = i + 1) begin shadow[i] <= 0; res_w[i] <= 0; end
	end else begin
		// one-cycle strobes
		cmd_rd_en <= 0; res_wr_en <= 0; dac_push_req <= 0; dac_upd_req <= 0; ar_trig_req <= 0; ar_ack_req <= 0;
		program_trigger <= 0; program_ack <= 0; ra_req <= 0;
		if (own) busy_cycles <= busy_cycles + 1;
		cell_cycles <= cell_cycles + 1;
		if (abort && own) abort_req <= 1;
		if (dac_program) begin
			if (dac_din[23:20] == 4'b0011 && dac_din[15:0] > hiwater) hiwater <= dac_din[15:0];
		end else if (dac_push_req) begin
			guard_trip <= 1;
			blocked_code <= dac_din[15:0];
		end
		// the watchdog: any step that waits too long is a fault
		// (restarted at every change of state; the states that wait for the host are exempt)
		st_prev <= st;
		if (st != st_prev || st == S_IDLE || st == S_HALT || st == S_FETCH || st == S_LVL || st == S_RANGE2 ||
		    st == S_RES) wd <= 0;
		else wd <= wd + 1;
		if (own && (&wd)) begin fault_at <= st; st <= S_FAULT; end
		else case (st)
		S_IDLE: begin
			abort_req <= 0;
			if (clear) begin
				fault <= 0; guard_trip <= 0; refused_n <= 0; hiwater <= 0; blocked_code <= 0; diag_cells <= 0;
				diag_pulses <= 0; busy_cycles <= 0;
			end else if (start && !fault && !guard_trip) begin
				lim_set_bl <= wi_lim_set[15:0]; lim_set_wl <= wi_lim_set[31:16];
				lim_reset_sl <= wi_lim_reset[15:0]; lim_reset_wl <= wi_lim_reset[31:16];
				lim_width <= wi_lim_width[23:0];
				core_known <= 0; shadow_ok <= 0;   // the host may have moved both since the last run
				st <= S_FETCH;
			end
		end
		S_HALT: begin
			// a fault stops the engine until the host clears it
			if (clear) begin
				fault <= 0; guard_trip <= 0; refused_n <= 0; hiwater <= 0; blocked_code <= 0; diag_cells <= 0;
				diag_pulses <= 0; busy_cycles <= 0;
				st <= S_IDLE;
			end
		end
		S_FETCH: begin
			if (abort_req || !cmd_ok) st <= S_IDLE;
			else if (!cmd_rd_en) begin
				cmd_rd_en <= 1;
				j_range <= 0;
				case (cmd_dout[31:28])
					4'd1: begin lvl_idx <= cmd_dout[3:0]; lvl_k <= 0; st <= S_LVL; end
					4'd2, 4'd3: begin
						j_level <= cmd_dout[27:24]; j_core <= cmd_dout[23:18];
						j_row <= cmd_dout[15:8]; j_col <= cmd_dout[7:0];
						j_row0 <= cmd_dout[15:8]; j_col0 <= cmd_dout[7:0];
						j_row1 <= cmd_dout[15:8]; j_col1 <= cmd_dout[7:0];
						if (cmd_dout[31:28] == 4'd3) begin j_range <= 1; st <= S_RANGE2; end
						else begin lvl_rd <= 0; st <= S_JOB; end
					end
					4'd15: begin
						res_w[0] <= {ST_MARK, cmd_dout[27:0]};
						res_w[1] <= diag_cells;
						res_w[2] <= busy_cycles[31:0];
						res_w[3] <= {16'd0, busy_cycles[47:32]};
						res_k <= 0;
						ret <= S_FETCH;
						st <= S_MARK;
					end
					default: ;  // NOP and unknown ops: skipped
				endcase
			end
		end
		S_MARK: st <= S_RES;
		S_LVL: if (cmd_ok && !cmd_rd_en) begin
			cmd_rd_en <= 1;
			lvl_k <= lvl_k + 1;
			if (lvl_k == 3'd7) begin lvl_valid[lvl_idx] <= 1; st <= S_FETCH; end
		end
		S_RANGE2: if (cmd_ok && !cmd_rd_en) begin
			cmd_rd_en <= 1;
			j_row1 <= cmd_dout[15:8]; j_col1 <= cmd_dout[7:0];
			lvl_rd <= 0;
			st <= S_JOB;
		end
		S_JOB: begin
			// copy the level's settings into the job registers, one word a clock
			case (lvl_rd[2:0])
				3'd0: w_lo <= lvl_word[23:0];
				3'd1: w_hi <= lvl_word[23:0];
				3'd2: begin set_start <= lvl_word[15:0]; set_max <= lvl_word[31:16]; end
				3'd3: begin rst_start <= lvl_word[15:0]; rst_max <= lvl_word[31:16]; end
				3'd4: begin g_set <= lvl_word[15:0]; g_rst <= lvl_word[31:16]; end
				3'd5: begin step <= lvl_word[15:0]; width <= lvl_word[31:16]; end
				3'd6: begin max_pulses <= lvl_word[15:0]; max_rev <= lvl_word[23:16]; max_stall <= lvl_word[31:24]; end
				default: begin t_shld0 <= lvl_word[15:0]; t_delta0 <= lvl_word[31:16]; end
			endcase
			lvl_rd <= lvl_rd + 1;
			if (lvl_rd == 4'd7) st <= S_CHECK;
		end
		S_CHECK: begin
			j_refuse <= refuse_now;
			cell_cycles <= 0; q <= 0; npulse <= 0; rev <= 0; v <= 0;
			if (|refuse_now) begin
				refused_n <= refused_n + 1;
				j_range <= 0;          // a refused range: one record (its first cell), nothing pulsed
				res_w[0] <= {ST_REFUSED, j_level, j_core, 2'b00, j_row, j_col};
				res_w[1] <= {18'd0, refuse_now};
				res_w[2] <= 0;
				res_w[3] <= 0;
				res_k <= 0;
				st <= S_RES;
			end else st <= S_CELL;
		end
		S_CELL: begin
			// a new cell: fresh sweep state, read timing from the level, select it
			pol_set <= 0; pulsed <= 0; v <= 0; rev <= 0; npulse <= 0; stall <= 0; q <= 0; cell_cycles <= 0;
			cur_t_shld <= t_shld0; cur_t_delta <= t_delta0;
			h <= core_h; vv <= core_v; sh <= swap3(core_h); sv <= swap3(core_v);
			ce_k <= 0;
			st <= (core_known && cur_core == j_core) ? S_SEL0 : S_CE0;
		end
		// ------------------------------------------------ core enable (spi_control.enable_single_core)
		S_CE0: begin ce_reset <= 1; ce_clk <= 0; ce_in <= 0; go_wait(STEP_WAIT, S_CE1); end
		S_CE1: begin ce_reset <= 0; go_wait(STEP_WAIT, S_CE2); end
		S_CE2: begin
			dec_enable_horz <= 1; dec_enable_vert <= 1; ce_clk <= 0;
			case (ce_k)
				2'd0: begin addr_horz <= sh; addr_vert <= sv; ce_in <= 1; end
				2'd1: begin addr_horz <= sh; addr_vert <= vv; ce_in <= 0; end
				default: begin addr_horz <= h; addr_vert <= sv; ce_in <= 0; end
			endcase
			go_wait(STEP_WAIT, S_CE3);
		end
		S_CE3: begin ce_clk <= 1; go_wait(STEP_WAIT, S_CE4); end
		S_CE4: begin
			ce_clk <= 0; ce_in <= 0;
			ce_k <= ce_k + 1;
			if (ce_k == 2'd2) begin cur_core <= j_core; core_known <= 1; go_wait(STEP_WAIT, S_SEL0); end
			else go_wait(STEP_WAIT, S_CE2);
		end
		// ------------------------------------------------ row and column (FpgaBoard._select)
		S_SEL0: begin clear_regs <= 1; go_wait(STEP_WAIT, S_SEL1); end
		S_SEL1: begin
			clear_regs <= 0; addr_horz <= sh; addr_vert <= sv; dec_enable_horz <= 0; dec_enable_vert <= 0;
			addr_local <= j_row; select_write_reg <= 2'b01; ra_vert <= 1;
			go_wait(STEP_WAIT, S_SEL2);
		end
		S_SEL2: begin ra_req <= 1; go_wait(RA_WAIT, S_SEL3); end
		S_SEL3: begin addr_local <= j_col; select_write_reg <= 2'b01; ra_vert <= 0; go_wait(STEP_WAIT, S_SEL4); end
		S_SEL4: begin ra_req <= 1; go_wait(RA_WAIT, S_SEL5); end
		S_SEL5: st <= S_R0;
		// ------------------------------------------------ verify read (auto-ranged, FpgaBoard._read_cells)
		S_R0: begin
			vupdate_config <= MUX_READ; t_shld_init <= cur_t_shld; t_delta_init <= cur_t_delta;
			go_wait(STEP_WAIT, S_R1);
		end
		S_R1: if (!ar_valid_s) begin ar_trig_req <= 1; go_wait(64, S_R2); end
		S_R2: if (ar_valid_s) begin
			r_d1 <= ar_dout1; r_d2 <= ar_dout2; r_td <= ar_t_delta;
			cur_t_shld <= ar_t_shld; cur_t_delta <= ar_t_delta;  // the next read of this cell starts ranged
			ar_ack_req <= 1;
			st <= S_R3;
		end
		S_R3: if (!ar_valid_s) begin
			vupdate_config <= MUX_IDLE;
			div_num <= (r_d1 > r_d2) ? {r_d1 - r_d2, 6'd0} : 24'd0;
			div_rem <= 0;
			div_n <= 0;
			// end code 0: the integrator fell to the ADC's floor before the end sample, so start - end
			// understates the current (a higher one reads lower): the read is saturated, above every window
			if (r_d2 == 18'd0) begin q <= READ_SATURATED; st <= S_DECIDE; end
			else st <= S_R4;
		end
		S_R4: begin
			// restoring division, one quotient bit a clock: q = div_num / r_td
			if (r_td == 16'd0) begin q <= 0; st <= S_DECIDE; end
			else begin
				if ({div_rem[15:0], div_num[23]} >= {1'b0, r_td}) begin
					div_rem <= {div_rem[15:0], div_num[23]} - {1'b0, r_td};
					div_num <= {div_num[22:0], 1'b1};
				end else begin
					div_rem <= {div_rem[15:0], div_num[23]};
					div_num <= {div_num[22:0], 1'b0};
				end
				div_n <= div_n + 1;
				if (div_n == 5'd23) st <= S_R5;
			end
		end
		S_R5: begin q <= div_num; st <= S_DECIDE; end
		// ------------------------------------------------ the decision (program.writeverify rounds)
		S_DECIDE: begin
			rev <= rev_n[15:0];
			if (in_win) result(ST_OK);
			else if (timed_out) result(ST_GAVE_UP);
			else if (stalled) result(ST_CEILING);
			else if (npulse >= max_pulses) result(ST_MAX_PULSES);
			else if (abort_req) st <= S_IDLE;
			else begin
				v <= v_next;
				pol_set <= want_set;
				pulsed <= 1;
				stall <= climbing ? stall + 1 : 8'd0;
				st <= S_AMP;
			end
		end
		S_AMP: begin
			// amplitude on VSET_BL (ch 0) or VRESET_SL (ch 2), when the DAC does not hold it already
			d_ch <= pol_set ? 2'd0 : 2'd2; d_code <= v;
			if (shadow_ok[pol_set ? 0 : 2] && shadow[pol_set ? 0 : 2] == v) st <= S_GATE;
			else begin ret <= S_GATE; st <= S_D0; end
		end
		S_GATE: begin
			d_ch <= pol_set ? 2'd1 : 2'd3; d_code <= pol_set ? g_set : g_rst;
			if (shadow_ok[pol_set ? 1 : 3] && shadow[pol_set ? 1 : 3] == (pol_set ? g_set : g_rst)) st <= S_P0;
			else begin ret <= S_P0; st <= S_D0; end
		end
		// ------------------------------------------------ one DAC channel: four words, then the update
		S_D0: begin d_k <= 0; d_tries <= 0; dac_din <= {8'd0, 4'b0011, 2'b00, d_ch, d_code}; st <= S_D1; end
		S_D1: if (!dac_fifo_full) begin
			dac_push_req <= 1;
			if (!guard_ok) begin fault <= 1; fault_at <= S_D1; st <= S_FAULT; end   // the guard stopped the word: stop here
			else go_wait(3, S_D2);
		end
		S_D2: if (dac_fifo_ack) begin
			d_k <= d_k + 1;
			dac_din <= NOP_WORD;
			st <= S_D6;
		end
		// one word in the DAC FIFO at a time: dac_daisy_control's RD_EN state holds rd_en until valid, so a
		// second queued word would be popped and dropped (the host's round trips never queue two)
		S_D6: if (!fifo_empty_s) st <= S_D7;
		S_D7: if (fifo_empty_s) begin
			if (d_k == 3'd4) go_wait(DAC_TAIL, S_D4);
			else st <= S_D1;
		end
		S_D4: begin dac_upd_req <= 1; go_wait(96, S_D5); end
		S_D5: begin
			if (dac_idle_s) begin
				shadow[d_ch] <= d_code; shadow_ok[d_ch] <= 1;
				st <= ret;
			end else begin
				d_tries <= d_tries + 1;
				if (&d_tries) begin fault_at <= S_D5; st <= S_FAULT; end
				else st <= S_D4;
			end
		end
		// ------------------------------------------------ one program pulse (FpgaBoard._pulse_cells)
		S_P0: begin
			pulse_width <= {16'd0, width} - 32'd1;     // the FSM holds the pulse pulse_width + 1 clocks
			vupdate_config <= pol_set ? MUX_SET : MUX_RESET;
			go_wait(STEP_WAIT, S_P1);
		end
		S_P1: if (!program_done) begin program_trigger <= 1; go_wait(4, S_P2); end
		S_P2: if (program_done) begin program_ack <= 1; go_wait(4, S_P3); end
		S_P3: if (!program_done) begin
			vupdate_config <= MUX_IDLE;
			npulse <= npulse + 1;
			diag_pulses <= diag_pulses + 1;
			go_wait(STEP_WAIT, S_R0);
		end
		// ------------------------------------------------ results
		S_RES: if (!res_full && !res_wr_en) begin
			res_din <= res_w[res_k];
			res_wr_en <= 1;
			res_k <= res_k + 1;
			if (res_k == 2'd3) begin
				if (res_w[0][31:28] != ST_MARK) diag_cells <= diag_cells + 1;
				st <= (res_w[0][31:28] == ST_MARK) ? S_FETCH : (res_w[0][31:28] == ST_FAULT) ? S_HALT : S_NEXT;
			end
		end
		S_NEXT: begin
			if (abort_req) st <= S_IDLE;
			else if (j_range && !(j_row == j_row1 && j_col == j_col1)) begin
				if (j_col == j_col1) begin j_col <= j_col0; j_row <= j_row + 1; end
				else j_col <= j_col + 1;
				st <= S_CELL;
			end else st <= S_FETCH;
		end
		S_WAIT: begin
			if (wt <= 20'd1) st <= after_wait;
			wt <= wt - 1;
		end
		S_FAULT: begin
			// a step timed out or the guard stopped a word: mux idle, record the cell, halt
			fault <= 1;
			vupdate_config <= MUX_IDLE;
			ce_clk <= 0; clear_regs <= 0;
			res_w[0] <= {ST_FAULT, j_level, j_core, 2'b00, j_row, j_col};
			res_w[1] <= {2'd0, ret, fault_at, 18'd0};
			res_w[2] <= {rev, npulse};
			res_w[3] <= {16'd0, v};
			res_k <= 0;
			st <= S_RES;
		end
		default: st <= S_IDLE;
		endcase
	end
end

endmodule
