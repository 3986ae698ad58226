package PVE::Balancer::Sim::CalendarEvent;

# Proxmox calendar events (the 'schedule' of jobs in /etc/pve/jobs.cfg) for the simulator and
# the tests, which run on UTC. On a node, PVE::Balancer::Env::PVE2 uses the real thing,
# pve-common's PVE::CalendarEvent (backed by proxmox-rs proxmox-time/src/calendar_event.rs);
# this is a reading of that code, in UTC only:
#
#   - the keywords minutely, hourly, daily, weekly, monthly, quarterly, semiannually
#     (semi-annually), yearly (annually);
#   - otherwise '[WEEKDAYS] [[YEAR-]MONTH-DAY] [[HOUR:]MINUTE[:SECOND]]' (at least one part):
#     weekdays as 'mon', 'mon..fri', 'sat,sun'; every other component '*', a value, a list
#     'a,b', a range 'a..b', a repetition 'a/r', 'a..b/r' or '*/r'. A missing time is 00:00:00;
#     a time without hour is that minute of every hour; a missing second is 0;
#   - a trailing 'UTC' is accepted (everything here is UTC).
#
# next_event() walks the fields from year to second like proxmox-time's compute_next_event
# (a field that does not match moves to its next matching value and resets the smaller ones).
# The systemd forms proxmox-time refuses are refused here too ('~' days, named months).

use strict;
use warnings;

my $day_bits = {
    mon => 0, monday => 0, tue => 1, tuesday => 1, wed => 2, wednesday => 2, thu => 3,
    thursday => 3, fri => 4, friday => 4, sat => 5, saturday => 5, sun => 6, sunday => 6,
};

my sub err {
    my ($what) = @_;
    die "unable to parse calendar event - $what\n";
}

# one component: a list of [kind, a, b, c]: ['v', x], ['r', a, b], ['p', a, rep, end|undef]
my sub parse_comp_list {
    my ($text, $start, $max) = @_;

    return [] if $text eq '*';
    if ($text =~ m/^\*\/(\d+)$/) {
        err("value $1 too large") if $1 >= $max;
        return $1 > 0 ? [['p', $start, $1, undef]] : [];
    }
    my @res;
    for my $part (split(/,/, $text, -1)) {
        my ($a, $b, $r) = $part =~ m/^(\d+)(?:\.\.(\d+))?(?:\/(\d+))?$/
            or err("invalid value '$part'");
        for my $v (grep { defined } ($a, $b, $r)) {
            err("value $v too large") if $v >= $max;
        }
        if (defined($b)) {
            err("range start is bigger than end") if $a > $b;
            push @res, defined($r) ? ['p', $a, $r, $b] : ['r', $a, $b];
        } else {
            push @res, defined($r) ? ['p', $a, $r, undef] : ['v', $a];
        }
    }
    return \@res;
}

my sub contains {
    my ($list, $v) = @_;

    for my $s (@$list) {
        my ($k, $a, $b, $c) = @$s;
        if ($k eq 'v') {
            return 1 if $v == $a;
        } elsif ($k eq 'r') {
            return 1 if $v >= $a && $v <= $b;
        } else {
            next if $v < $a;
            if ($b > 0) {
                return 1 if ($v - $a) % $b == 0 && (!defined($c) || $v <= $c);
            } else {
                return 1 if $v == $a;
            }
        }
    }
    return 0;
}

my sub find_next {
    my ($list, $v) = @_;

    my $next;
    my $set = sub { $next = $_[0] if !defined($next) || $_[0] < $next };
    for my $s (@$list) {
        my ($k, $a, $b, $c) = @$s;
        if ($k eq 'v') {
            $set->($a) if $a > $v;
        } elsif ($k eq 'r') {
            if ($v < $a) {
                $set->($a);
            } elsif ($v + 1 >= $a && $v + 1 <= $b) {
                $set->($v + 1);
            }
        } else {
            if ($v < $a) {
                $set->($a);
            } elsif ($b > 0) {
                my $n = $a + int(($v - $a + $b) / $b) * $b;
                $set->($n) if !defined($c) || $n <= $c;
            }
        }
    }
    return $next;
}

=head3 parse($text)

Parses a calendar event; dies with a message saying what it could not read.

=cut

sub parse {
    my ($text) = @_;

    my $s = $text // '';
    $s =~ s/^\s+|\s+$//g;
    err("event is empty") if $s eq '';
    $s =~ s/\s*UTC$//;

    my $ev = { days => 0, year => [], month => [], day => [], hour => [], minute => [],
        second => [] };
    my $at = sub { return { %$ev, @_ } };
    my %kw = (
        minutely => $at->(second => [['v', 0]]),
        hourly => $at->(minute => [['v', 0]], second => [['v', 0]]),
        daily => $at->(hour => [['v', 0]], minute => [['v', 0]], second => [['v', 0]]),
        weekly => $at->(hour => [['v', 0]], minute => [['v', 0]], second => [['v', 0]],
            days => 1),
        monthly => $at->(hour => [['v', 0]], minute => [['v', 0]], second => [['v', 0]],
            day => [['v', 1]]),
        quarterly => $at->(hour => [['v', 0]], minute => [['v', 0]], second => [['v', 0]],
            day => [['v', 1]], month => [map { ['v', $_] } (1, 4, 7, 10)]),
        semiannually => $at->(hour => [['v', 0]], minute => [['v', 0]], second => [['v', 0]],
            day => [['v', 1]], month => [['v', 1], ['v', 7]]),
        yearly => $at->(hour => [['v', 0]], minute => [['v', 0]], second => [['v', 0]],
            day => [['v', 1]], month => [['v', 1]]),
    );
    $kw{'semi-annually'} = $kw{semiannually};
    $kw{annually} = $kw{yearly};
    return $kw{$s} if $kw{$s};

    my @tokens = split(/\s+/, $s);
    my $parts = 0;
    if (@tokens && $tokens[0] =~ m/^[A-Za-z]/) {
        my $spec = shift @tokens;
        for my $range (split(/,/, $spec, -1)) {
            my ($a, $b) = $range =~ m/^([A-Za-z]+)(?:\.\.([A-Za-z]+))?$/
                or err("invalid weekday range '$range'");
            my $x = $day_bits->{ lc($a) } // err("invalid weekday '$a'");
            my $y = defined($b) ? $day_bits->{ lc($b) } // err("invalid weekday '$b'") : $x;
            my @r = $x <= $y ? ($x .. $y) : ($x .. 6, 0 .. $y);
            $ev->{days} |= 1 << $_ for @r;
        }
        $parts++;
    }
    if (@tokens && $tokens[0] =~ m/-/) {
        my @d = split(/-/, shift(@tokens), -1);
        err("invalid date spec") if @d < 2 || @d > 3;
        if (@d == 3) {
            $ev->{year} = parse_comp_list($d[0], 0, 2200);
            shift @d;
        }
        $ev->{month} = parse_comp_list($d[0], 1, 13);
        $ev->{day} = parse_comp_list($d[1], 1, 32);
        $parts++;
    }
    if (@tokens) {
        my @t = split(/:/, shift(@tokens), -1);
        err("invalid time spec") if @t < 1 || @t > 3;
        if (@t == 1) {
            $ev->{minute} = parse_comp_list($t[0], 0, 60);
        } else {
            $ev->{hour} = parse_comp_list($t[0], 0, 24);
            $ev->{minute} = parse_comp_list($t[1], 0, 60);
        }
        $ev->{second} = @t == 3 ? parse_comp_list($t[2], 0, 60) : [['v', 0]];
        $parts++;
    } else {
        $ev->{$_} = [['v', 0]] for qw(hour minute second);
    }
    err("unexpected '@tokens'") if @tokens;
    err("expected a date or time specification") if !$parts;
    return $ev;
}

my sub days_from_civil {
    my ($y, $m, $d) = @_;

    $y -= $m <= 2 ? 1 : 0;
    my $era = int(($y >= 0 ? $y : $y - 399) / 400);
    my $yoe = $y - $era * 400;
    my $doy = int((153 * ($m + ($m > 2 ? -3 : 9)) + 2) / 5) + $d - 1;
    my $doe = $yoe * 365 + int($yoe / 4) - int($yoe / 100) + $doy;
    return $era * 146097 + $doe - 719468;
}

# (year, mon 1-12, mday, hour, min, sec), fields may be out of range -> epoch (UTC)
my sub timegm_norm {
    my ($y, $mon, $d, $h, $mi, $s) = @_;

    my $m0 = $mon - 1;
    $y += int($m0 / 12) - ($m0 % 12 < 0 ? 1 : 0);
    $m0 %= 12;
    my $days = days_from_civil($y, $m0 + 1, 1) + $d - 1;
    return $days * 86400 + $h * 3600 + $mi * 60 + $s;
}

my sub tm {
    my ($epoch) = @_;

    my @t = gmtime($epoch);
    return { year => $t[5] + 1900, mon => $t[4] + 1, mday => $t[3], hour => $t[2],
        min => $t[1], sec => $t[0], wday => $t[6] };
}

=head3 next_event($event, $last)

The first time strictly after C<$last> (epoch seconds) at which the parsed C<$event> is due,
or undef (no match within 1000 steps, as proxmox-time gives up).

=cut

sub next_event {
    my ($ev, $last) = @_;

    my $e = $last + 1;
    my $all_days = !$ev->{days} || $ev->{days} == 127;
    for my $count (1 .. 1000) {
        my $t = tm($e);
        if (@{ $ev->{year} } && !contains($ev->{year}, $t->{year})) {
            my $n = find_next($ev->{year}, $t->{year}) // return undef;
            $e = timegm_norm($n, 1, 1, 0, 0, 0);
            next;
        }
        if (@{ $ev->{month} } && !contains($ev->{month}, $t->{mon})) {
            my $n = find_next($ev->{month}, $t->{mon});
            $e = defined($n) ? timegm_norm($t->{year}, $n, 1, 0, 0, 0)
                : timegm_norm($t->{year} + 1, 1, 1, 0, 0, 0);
            next;
        }
        if (@{ $ev->{day} } && !contains($ev->{day}, $t->{mday})) {
            my $n = find_next($ev->{day}, $t->{mday});
            $e = defined($n) ? timegm_norm($t->{year}, $t->{mon}, $n, 0, 0, 0)
                : timegm_norm($t->{year}, $t->{mon} + 1, 1, 0, 0, 0);
            next;
        }
        if (!$all_days) {
            my $num = ($t->{wday} + 6) % 7;
            if (!($ev->{days} & (1 << $num))) {
                my ($n) = grep { $ev->{days} & (1 << $_) } ($num + 1 .. 6);
                my $add = defined($n) ? $n - $num : 7 - $num;
                $e = timegm_norm($t->{year}, $t->{mon}, $t->{mday} + $add, 0, 0, 0);
                next;
            }
        }
        if (@{ $ev->{hour} } && !contains($ev->{hour}, $t->{hour})) {
            my $n = find_next($ev->{hour}, $t->{hour});
            $e = defined($n) ? timegm_norm($t->{year}, $t->{mon}, $t->{mday}, $n, 0, 0)
                : timegm_norm($t->{year}, $t->{mon}, $t->{mday} + 1, 0, 0, 0);
            next;
        }
        if (@{ $ev->{minute} } && !contains($ev->{minute}, $t->{min})) {
            my $n = find_next($ev->{minute}, $t->{min});
            $e = defined($n) ? timegm_norm($t->{year}, $t->{mon}, $t->{mday}, $t->{hour}, $n, 0)
                : timegm_norm($t->{year}, $t->{mon}, $t->{mday}, $t->{hour} + 1, 0, 0);
            next;
        }
        if (@{ $ev->{second} } && !contains($ev->{second}, $t->{sec})) {
            my $n = find_next($ev->{second}, $t->{sec});
            $e = defined($n)
                ? timegm_norm($t->{year}, $t->{mon}, $t->{mday}, $t->{hour}, $t->{min}, $n)
                : timegm_norm($t->{year}, $t->{mon}, $t->{mday}, $t->{hour}, $t->{min} + 1, 0);
            next;
        }
        return $e;
    }
    return undef;
}

=head3 next_after($text, $last)

Parses C<$text> and returns its next event after C<$last>.

=cut

sub next_after {
    my ($text, $last) = @_;
    return next_event(parse($text), $last);
}

1;
