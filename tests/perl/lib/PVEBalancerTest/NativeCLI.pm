package PVEBalancerTest::NativeCLI;

# Stand-in for the XS module PVE::Balancer::Native while it is not built: the same functions
# and the same contract (snapshot as Perl data or JSON text, arguments named like the CLI
# flags, result = the CLI's --output-format json output decoded, errors as
# "pve-balancer: <path>: <message>\n"), implemented by running build/pve-balancer (or
# $PVEBAL_CLI).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempfile);
use JSON;
use String::ShellQuote qw(shell_quote);

my $root = abs_path(dirname(__FILE__) . '/../../../..');
our $cli = $ENV{PVEBAL_CLI} // "$root/build/pve-balancer";

my $json = JSON->new->canonical->utf8;

my sub arg_text {
    my ($key, $value) = @_;

    return $value ? '1' : '0' if JSON::is_bool($value);
    return join(',', @$value) if ref($value) eq 'ARRAY';
    return join(',', map { "$_:$value->{$_}" } sort keys %$value) if ref($value) eq 'HASH';
    return "$value";
}

sub run_cli {
    my ($command, $snapshot, %args) = @_;

    die "pve-balancer: snapshot: required\n" if !defined($snapshot);
    my $text = ref($snapshot) ? $json->encode($snapshot) : $snapshot;
    my ($fh, $file) = tempfile(UNLINK => 1);
    print $fh $text;
    close($fh);

    my @cmd = ($cli, $command, '--snapshot', $file, '--output-format', 'json');
    for my $key (sort keys %args) {
        my $value = $args{$key};
        next if !defined($value);
        if ($key eq 'all-guests') { # a flag without value on the command line
            push @cmd, '--all-guests' if arg_text($key, $value) ne '0';
            next;
        }
        push @cmd, "--$key=" . arg_text($key, $value);
    }

    # through the shell with explicit redirections: works even where STDOUT/STDERR are
    # in-memory handles (the task log capture of the fork_worker double)
    my ($ofh, $outfile) = tempfile(UNLINK => 1);
    my ($efh, $errfile) = tempfile(UNLINK => 1);
    close($ofh);
    close($efh);
    system(shell_quote(@cmd) . ' <' . shell_quote('/dev/null') . ' >' . shell_quote($outfile)
        . ' 2>' . shell_quote($errfile));
    my $rc = $? >> 8;
    my $slurp = sub {
        open(my $fh, '<', $_[0]) or return '';
        local $/;
        return scalar(<$fh>) // '';
    };
    my $stdout = $slurp->($outfile);
    my $stderr = $slurp->($errfile);
    unlink($file, $outfile, $errfile);

    if ($rc == 0) {
        return $json->decode($stdout);
    }
    my ($line) = split(/\n/, $stderr);
    $line //= "exit code $rc";
    if ($rc == 2) {
        $line =~ s/^pve-balancer: --/pve-balancer: /;
        die "$line\n";
    }
    die "pve-balancer: internal error: $line\n";
}

package PVE::Balancer::Native;

use strict;
use warnings;

sub version {
    my $out = `$PVEBalancerTest::NativeCLI::cli version`;
    my ($version) = $out =~ m/(\d+\.\d+\.\d+)/;
    return $version;
}

sub score { PVEBalancerTest::NativeCLI::run_cli('score', @_) }
sub plan { PVEBalancerTest::NativeCLI::run_cli('plan', @_) }
sub evacuate { PVEBalancerTest::NativeCLI::run_cli('evacuate', @_) }
sub failover { PVEBalancerTest::NativeCLI::run_cli('failover', @_) }
sub capacity { PVEBalancerTest::NativeCLI::run_cli('capacity', @_) }
sub place { PVEBalancerTest::NativeCLI::run_cli('place', @_) }

$INC{'PVE/Balancer/Native.pm'} = __FILE__;

1;
