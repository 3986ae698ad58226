package PVEBalancerTest::SimCluster::RRD;

# The RRD side of the simulated cluster (PVEBalancerTest::SimCluster): the records of rrd_dump in
# pvestatd's broadcast layout (pve-node-9.0 / pve-vm-9.0 / pve-storage-9.0, or the old
# pve2-node / pve2.3-vm / pve2-storage keys), written independently of the reading side in
# PVE::Balancer::State::RRD, and synthesized RRD histories. Read by the doubles of PVE::Cluster
# (rrd_dump) and PVE::RRD (create_rrd_data).

use strict;
use warnings;

my sub rrd_fields {
    return map { defined($_) ? "$_" : undef } @_;
}

=head3 rrd_dump($sim)

The rrd_dump of the simulated cluster at its current time.

=cut

sub rrd_dump {
    my ($sim) = @_;

    my $res = {};
    my $ctime = $sim->{time};

    for my $name (sort keys %{ $sim->{nodes} }) {
        my $n = $sim->{nodes}->{$name};
        my $format = $n->{rrd} // '9.0';
        next if $format eq 'none';
        my ($roottotal, $rootused) = @{ $n->{rootfs} // [100 * 2**30, 10 * 2**30] };
        my @d = rrd_fields(
            $n->{uptime} // 86400, $n->{level} // '', $ctime, $n->{loadavg} // 1.5,
            $n->{maxcpu}, $n->{cpu}, 0.01, $n->{maxmem}, $n->{mem}, 8 * 2**30, 0,
            $roottotal, $rootused, 1000, 2000,
        );
        if ($format eq '9.0') {
            # memavailable, arcsize, pressure cpu some, io some/full, memory some/full
            # (pve-manager pvestatd.pm update_node_status, pve-node-9.0)
            push @d, rrd_fields($n->{maxmem} - $n->{mem}, $n->{arcsize} // 0, 0.1, 0, 0, 0, 0);
            $res->{"pve-node-9.0/$name"} = \@d;
        } else {
            $res->{"pve2-node/$name"} = \@d;
        }
    }

    for my $vmid (sort { $a <=> $b } keys %{ $sim->{guests} }) {
        my $g = $sim->{guests}->{$vmid};
        my $format = $g->{rrd} // '9.0';
        next if $format eq 'none';
        my $running = ($g->{status} // '') eq 'running' || ($g->{status} // '') eq 'paused';
        my @d = rrd_fields(
            $running ? $g->{uptime} // 3600 : 0,
            $g->{name}, $g->{status} // 'stopped', $g->{template} // 0, $ctime,
            $g->{maxcpu}, $running ? $g->{cpu} // 0 : undef,
            $g->{maxmem}, $running ? $g->{mem} // 0 : undef,
            $g->{maxdisk} // 0, $g->{disk} // 0,
            $running ? (100, 200, 300, 400) : (undef, undef, undef, undef),
        );
        if ($format eq '9.0') {
            push @d, rrd_fields($running ? $g->{memhost} // $g->{mem} // 0 : undef,
                (undef) x 6);
            $res->{"pve-vm-9.0/$vmid"} = \@d;
        } else {
            $res->{"pve2.3-vm/$vmid"} = \@d;
        }
    }

    my $usage = $sim->{storage}->{usage} // {};
    for my $key (sort keys %$usage) {
        my ($total, $used, $format) = @{ $usage->{$key} };
        my $prefix = ($format // '9.0') eq 'old' ? 'pve2-storage' : 'pve-storage-9.0';
        $res->{"$prefix/$key"} = [rrd_fields($ctime, $total, $used)];
    }

    return $res;
}

=head3 synth_rrd($sim, $rrdname)

With C<rrd_synthesize> set, an RRD history without data in C<rrddata>: an hour of one-minute
points at the current values of the node or guest. Undef otherwise.

=cut

sub synth_rrd {
    my ($sim, $rrdname) = @_;

    return undef if !$sim->{rrd_synthesize};
    my ($cpu, $mem, $memkey);
    if ($rrdname =~ m!^(?:pve-node-9\.0|pve2-node)/(\S+)$!) {
        my $n = $sim->{nodes}->{$1} or return undef;
        ($cpu, $mem, $memkey) = ($n->{cpu}, $n->{mem}, 'memused');
    } elsif ($rrdname =~ m!^(?:pve-vm-9\.0|pve2-vm)/(\d+)$!) {
        my $g = $sim->{guests}->{$1} or return undef;
        ($cpu, $mem, $memkey) = ($g->{cpu}, $g->{mem}, 'mem');
    } else {
        return undef;
    }
    my $start = 60 * int($sim->{time} / 60) - 3600;
    return [map { { time => $start + 60 * $_, cpu => $cpu, $memkey => $mem } } 0 .. 59];
}

1;
