package PVE::Balancer::Window;

# When automatic balancing may act: the balancer.cfg keys 'auto-window' (when it may migrate)
# and 'auto-blackout' (when it must not). The one place that reads what they mean; the engine's
# option schema only bounds their length (type 'text').
#
# A window is a comma- or semicolon-separated list of daily ranges, in the format of Proxmox's
# daily durations (proxmox-rs proxmox-time/src/daily_duration.rs, parse_daily_duration, as
# used for Proxmox Backup Server's traffic-control time frames):
#
#   [DAYS] START-END       DAYS: mon, tue, ..., sun (or monday, ...), lists 'sat,sun' and
#                          ranges 'mon..fri' (also wrapping: 'fri..mon'); none: every day
#                          START, END: H or H:MM; the range is [START, END)
#
# with two extensions, both refused by upstream's parser so no upstream text changes meaning:
#
#   - END before START wraps past midnight: 'mon..fri 22:00-06:00' is Monday 22:00 to Tuesday
#     06:00, ..., Friday 22:00 to Saturday 06:00 (DAYS name the day a range starts on);
#   - END may be 24 or 24:00, the end of the day ('sat,sun 0-24').
#
# A blackout may also list dates and date ranges, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD (whole
# days, both ends included). Times are local times of the node the cycle runs on (as
# Proxmox's job schedules), given by the Env façade (local_time), so the simulator runs on UTC.

use strict;
use warnings;

my $day_numbers = {
    sun => 0, sunday => 0, mon => 1, monday => 1, tue => 2, tuesday => 2, wed => 3,
    wednesday => 3, thu => 4, thursday => 4, fri => 5, friday => 5, sat => 6, saturday => 6,
};

my sub fail {
    my ($text, $pos, $what) = @_;

    my $rest = substr($text, $pos);
    $rest = substr($rest, 0, 20) . '...' if length($rest) > 23;
    my $at = length($rest) ? "at '$rest'" : "at the end";
    die "expected $what $at\n";
}

# Days "mon..fri,sun" starting at pos; returns (bitmask of days 0=sunday .. 6, new pos).
my sub parse_days {
    my ($text, $pos) = @_;

    my $mask = 0;
    for (;;) {
        pos($text) = $pos;
        $text =~ m/\G([A-Za-z]+)/gc or fail($text, $pos, 'a weekday (mon, tue, ...)');
        my $first = $day_numbers->{ lc($1) } // fail($text, $pos, 'a weekday (mon, tue, ...)');
        $pos = pos($text);
        my $last = $first;
        if ($text =~ m/\G\.\.([A-Za-z]+)/gc) {
            $last = $day_numbers->{ lc($1) } // fail($text, $pos + 2, 'a weekday after ..');
            $pos = pos($text);
        }
        # Monday-first like proxmox-time's WeekDays: 'sat..mon' is sat, sun, mon
        my ($a, $b) = map { ($_ + 6) % 7 } ($first, $last);
        my @range = $a <= $b ? ($a .. $b) : ($a .. 6, 0 .. $b);
        $mask |= 1 << (($_ + 1) % 7) for @range;
        pos($text) = $pos;
        last if $text !~ m/\G,(?=[A-Za-z])/gc;
        $pos = pos($text);
    }
    return ($mask, $pos);
}

# "H" or "H:MM" at pos; returns (minutes since midnight, new pos). 24 only where $end.
my sub parse_hm {
    my ($text, $pos, $end) = @_;

    pos($text) = $pos;
    $text =~ m/\G(\d{1,2})(?::(\d{1,2}))?/gc
        or fail($text, $pos, $end ? 'an end time (H or H:MM)' : 'a start time (H or H:MM)');
    my ($h, $m) = ($1, $2 // 0);
    if ($m > 59 || $h > 24 || ($h == 24 && ($m != 0 || !$end))) {
        fail($text, $pos, 'a time from 0:00 to 23:59' . ($end ? ' (or 24:00)' : ''));
    }
    return ($h * 60 + $m, pos($text));
}

my sub valid_date {
    my ($y, $m, $d) = @_;

    return 0 if $m < 1 || $m > 12 || $d < 1;
    my @days = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31);
    my $leap = ($y % 4 == 0 && $y % 100 != 0) || $y % 400 == 0;
    my $max = $m == 2 && $leap ? 29 : $days[$m - 1];
    return $d <= $max;
}

=head3 parse($text, %opts)

Parses a window (see the top of this file). C<dates> =E<gt> 1 also allows dates and date
ranges (blackouts). Returns a list of entries: C<{days => mask, start, end}> (minutes; days
bit 0 is Sunday, no days: every day) or C<{from => 'YYYY-MM-DD', to => 'YYYY-MM-DD'}>. Dies
with a message that says what was expected where. An empty text is an empty list.

=cut

sub parse {
    my ($text, %opts) = @_;

    $text //= '';
    my $res = [];
    my $pos = 0;
    my $len = length($text);
    pos($text) = 0;
    $text =~ m/\G\s*/gc;
    $pos = pos($text);
    return $res if $pos >= $len;

    for (;;) {
        pos($text) = $pos;
        if ($text =~ m/\G(\d{4})-(\d{2})-(\d{2})/gc) {
            fail($text, $pos, 'a daily range (dates only in auto-blackout)') if !$opts{dates};
            my $from = "$1-$2-$3";
            fail($text, $pos, 'a valid date') if !valid_date($1, $2, $3);
            my $to = $from;
            my $at = pos($text);
            if ($text =~ m/\G\.\.(\d{4})-(\d{2})-(\d{2})/gc) {
                $to = "$1-$2-$3";
                fail($text, $at + 2, 'a valid date') if !valid_date($1, $2, $3);
                fail($text, $at + 2, 'an end date not before the start date') if $to lt $from;
            } elsif ($text =~ m/\G\.\./gc) {
                fail($text, $at + 2, 'an end date (YYYY-MM-DD)');
            }
            push @$res, { from => $from, to => $to };
            $pos = pos($text);
        } else {
            my $days = 0;
            if ($text =~ m/\G[A-Za-z]/) {
                ($days, $pos) = parse_days($text, $pos);
                pos($text) = $pos;
                $text =~ m/\G\s+/gc or fail($text, $pos, 'a blank and a time range after the days');
                $pos = pos($text);
            }
            my ($start, $end);
            ($start, $pos) = parse_hm($text, $pos, 0);
            pos($text) = $pos;
            $text =~ m/\G\s*-\s*/gc or fail($text, $pos, "'-' and an end time");
            $pos = pos($text);
            ($end, $pos) = parse_hm($text, $pos, 1);
            fail($text, $pos, 'a range that is not empty (start and end differ)')
                if $start == $end;
            push @$res, { days => $days, start => $start, end => $end };
        }
        pos($text) = $pos;
        $text =~ m/\G\s*/gc;
        $pos = pos($text);
        last if $pos >= $len;
        $text =~ m/\G[,;]\s*/gc or fail($text, $pos, "',' or ';' before the next range");
        $pos = pos($text);
        fail($text, $pos, 'a range after the separator') if $pos >= $len;
    }
    return $res;
}

=head3 verify($key, $text)

Dies with C<"KEY: MESSAGE\n"> if C<$text> is not a valid value of C<auto-window> or
C<auto-blackout>.

=cut

sub verify {
    my ($key, $text) = @_;

    eval { parse($text, dates => $key eq 'auto-blackout') };
    if (my $err = $@) {
        die "$key: $err";
    }
    return 1;
}

=head3 config_keys()

The balancer.cfg keys this module reads.

=cut

sub config_keys {
    return ['auto-blackout', 'auto-window'];
}

my sub day_in {
    my ($mask, $wday) = @_;
    return !$mask || ($mask & (1 << $wday));
}

=head3 matches($entries, $lt)

True if the local time C<$lt> (C<{wday, hour, min, date}>, C<date> as YYYY-MM-DD; see
Env::local_time) is in one of the parsed C<$entries>; returns the entry.

=cut

sub matches {
    my ($entries, $lt) = @_;

    my $t = $lt->{hour} * 60 + $lt->{min};
    my $yesterday = ($lt->{wday} + 6) % 7;
    for my $e (@$entries) {
        if (defined($e->{from})) {
            return $e if $lt->{date} ge $e->{from} && $lt->{date} le $e->{to};
            next;
        }
        if ($e->{start} < $e->{end}) {
            return $e if day_in($e->{days}, $lt->{wday}) && $t >= $e->{start} && $t < $e->{end};
        } else { # past midnight: the evening of a listed day, or the morning after it
            return $e if day_in($e->{days}, $lt->{wday}) && $t >= $e->{start};
            return $e if day_in($e->{days}, $yesterday) && $t < $e->{end};
        }
    }
    return undef;
}

=head3 closed($eff, $lt)

Why automatic balancing must not migrate at local time C<$lt> with the effective
configuration C<$eff>: outside C<auto-window> or inside C<auto-blackout> (a sentence), or
undef when it may. Dies if a window cannot be read (the caller reports it).

=cut

sub closed {
    my ($eff, $lt) = @_;

    my $window = $eff->{'auto-window'} // '';
    my $blackout = $eff->{'auto-blackout'} // '';
    my $when = sprintf("%s %02d:%02d", $lt->{date}, $lt->{hour}, $lt->{min});

    if ($window =~ m/\S/) {
        my $entries = eval { parse($window) };
        die "auto-window: $@" if $@;
        return "outside the balancing window at $when (auto-window: $window)"
            if !matches($entries, $lt);
    }
    if ($blackout =~ m/\S/) {
        my $entries = eval { parse($blackout, dates => 1) };
        die "auto-blackout: $@" if $@;
        return "in a blackout period at $when (auto-blackout: $blackout)"
            if matches($entries, $lt);
    }
    return undef;
}

1;
