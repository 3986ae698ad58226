package PVE::Tools;

# Test double of pve-common's PVE::Tools (src/PVE/Tools.pm): file helpers (real file IO, atomic replace like the
# real file_set_contents), list and parameter helpers, and the UPID helpers, which answer from
# the simulated cluster.

use strict;
use warnings;

use base 'Exporter';
our @EXPORT_OK = qw(split_list extract_param template_replace file_get_contents
    file_set_contents);

# pve-common PVE::Tools::file_read_firstline (PVE::File::file_read_first_line): the first line,
# chomped; undef when the file does not exist; dies when it exists but cannot be opened.
sub file_read_firstline {
    my ($filename) = @_;

    my $fh;
    if (!open($fh, '<', $filename)) {
        return undef if $!{ENOENT};
        die "file '$filename' exists but open for reading failed - $!\n";
    }
    my $res = <$fh>;
    chomp $res if $res;
    close($fh);
    return $res;
}

sub file_get_contents {
    my ($filename, $max) = @_;

    open(my $fh, '<', $filename) or die "unable to open file '$filename' - $!\n";
    local $/;
    my $content = <$fh> // '';
    close($fh);
    die "file '$filename' too long - aborting\n" if defined($max) && length($content) > $max;
    return $content;
}

sub file_set_contents {
    my ($filename, $data, $perm) = @_;

    my $tmp = "$filename.tmp.$$";
    open(my $fh, '>', $tmp) or die "unable to open file '$tmp' - $!\n";
    print $fh $data;
    close($fh) or die "unable to write '$tmp' - $!\n";
    chmod($perm, $tmp) if defined($perm);
    rename($tmp, $filename) or die "rename '$tmp' to '$filename' failed - $!\n";
}

sub split_list {
    my ($text) = @_;

    $text //= '';
    return split(/\0/, $text) if $text =~ m/\0/;
    $text =~ s/[,;]/ /g;
    $text =~ s/^\s+//;
    return split(/\s+/, $text);
}

sub extract_param {
    my ($param, $key) = @_;

    my $res = $param->{$key};
    delete $param->{$key};
    return $res;
}

sub template_replace {
    my ($tmpl, $data) = @_;

    return $tmpl if !$tmpl;
    my $res = '';
    while ($tmpl =~ m/([^{]+)?(\{([^}]+)\})?/g) {
        $res .= $1 if $1;
        $res .= $data->{$3} // '-' if $2;
    }
    return $res;
}

sub upid_decode {
    my ($upid, $noerr) = @_;

    if ($upid =~ m/^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s\/]+):([^:\s\/]*):([^:\s\/]+):$/) {
        return {
            node => $1,
            pid => hex($2),
            pstart => hex($3),
            starttime => hex($4),
            type => $5,
            id => $6,
            user => $7,
        };
    }
    return undef if $noerr;
    die "unable to parse worker upid '$upid'\n";
}

sub upid_read_status {
    my ($upid) = @_;

    my $sim = PVEBalancerTest::SimCluster->current();
    my $task = $sim ? $sim->{tasks}->{$upid} : undef;
    return "unable to get last line from task log" if !$task || $task->{running};
    return $task->{status};
}

sub upid_status_is_error {
    my ($status) = @_;
    return !($status eq 'OK' || $status =~ m/^WARNINGS: \d+$/);
}

1;
